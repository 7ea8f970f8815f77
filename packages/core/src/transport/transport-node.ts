import { MemoryLogStore, type LogStore } from '@steward/store';
import type { Engine } from '../engine/engine.js';
import type { JournalRecord } from '../journal/journal-record.js';
import { isRetryable, type TaskOutcome } from '../model/types.js';
import type { ClaimedTask, TransportNode } from './transport.js';

/**
 * The journal of a node in a cluster: in memory (the cluster's store is the record),
 * and every record handed to `listeners` as it is appended, so the transport can share
 * what the node's engine did with the tasks it claimed.
 */
export function tappedMemoryStore(): { store: LogStore; listeners: Array<(record: JournalRecord) => void> } {
  const inner = new MemoryLogStore();
  const listeners: Array<(record: JournalRecord) => void> = [];
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === 'append') {
        return (values: readonly unknown[]) => {
          const receipt = target.append(values);
          for (const value of values) for (const listener of listeners) listener(value as JournalRecord);
          return receipt;
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store, listeners };
}

/** The node a transport joins: `engine` runs on a tapped store (see tappedMemoryStore). */
export function transportNode(engine: Engine, listeners: Array<(record: JournalRecord) => void>): TransportNode {
  return {
    engine,
    run(task: ClaimedTask): Promise<TaskOutcome> {
      const known = engine.table.tasks.get(task.id);
      // Ended here before and queued again in the cluster (rt.retry): a new run here too.
      if (known !== undefined && isRetryable(known.status)) engine.retry(task.id);
      // Claimed again (its claim was thought lost while it ran here): the run here is the one.
      else if (known !== undefined) return engine.outcome(task.id);
      else engine.submit(task.type, task.input, task.options, { id: task.id });
      // Before its first attempt, which starts a turn later at the earliest.
      const at = engine.options.clock.now();
      for (const [name, result] of Object.entries(task.steps)) engine.commit({ type: 'step:completed', at, taskId: task.id, name, result });
      return engine.outcome(task.id);
    },
    onRecord(listener) {
      listeners.push(listener);
    },
  };
}
