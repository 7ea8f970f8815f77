import { MemoryLogStore, type LogStore } from '@steward/store';
import type { Engine } from '../engine/engine.js';
import type { JournalRecord } from '../journal/journal-record.js';
import { isRetryable, type TaskOutcome } from '../model/types.js';
import type { TaskRecord } from '../model/task-record.js';
import type { WaitResult } from '../model/waits.js';
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

/** The node a transport joins: `engine` runs on a tapped store (see tappedMemoryStore); `schedules` are the runtime options' (the engine is made without them). */
export function transportNode(engine: Engine, listeners: Array<(record: JournalRecord) => void>, schedules: TransportNode['schedules'] = {}): TransportNode {
  /** Claimed tasks running here, told when they park themselves on a durable wait. */
  const parking = new Map<string, () => void>();
  listeners.push((record) => {
    if (record.type !== 'task:suspended') return;
    const parked = parking.get(record.taskId);
    // After the engine is done with the suspension (it may have taken a kept signal at once).
    if (parked !== undefined) queueMicrotask(parked);
  });
  return {
    engine,
    schedules,
    run(task: ClaimedTask): Promise<TaskOutcome | 'suspended'> {
      const known = engine.table.tasks.get(task.id);
      // Ended here before and queued again in the cluster (rt.retry): a new run here too.
      if (known !== undefined && isRetryable(known.status)) engine.retry(task.id);
      // Claimed again (its claim was thought lost while it ran here): the run here is the one.
      else if (known !== undefined) return engine.outcome(task.id);
      else engine.submit(task.type, task.input, task.options, { id: task.id, checked: true });
      const local = engine.table.tasks.get(task.id) as TaskRecord;
      // Its waits so far, from any node: a run meets them again with their results.
      if (task.waits !== undefined) local.waits = structuredClone(task.waits) as Record<string, WaitResult[]>;
      if (task.signals !== undefined) local.signals = structuredClone(task.signals) as Array<{ name: string; payload: unknown }>;
      // What it used before, anywhere, counts against its budget here.
      if (task.usage !== undefined) local.usage = { ...task.usage };
      if (task.dependencies !== undefined) local.dependencyResults = task.dependencies;
      // Before its first attempt, which starts a turn later at the earliest.
      const at = engine.options.clock.now();
      for (const [name, result] of Object.entries(task.steps)) engine.commit({ type: 'step:completed', at, taskId: task.id, name, result });
      return new Promise((resolve, reject) => {
        parking.set(task.id, () => {
          if (local.status !== 'waiting') return; // a kept signal woke it at once: it runs on here
          parking.delete(task.id);
          // The wait goes on in the cluster: no timer of its own here, and no copy left to confuse a later claim.
          engine.waits.clear(task.id);
          engine.table.tasks.delete(task.id);
          engine.table.waiting--;
          resolve('suspended');
        });
        engine.outcome(task.id).then(
          (outcome) => {
            parking.delete(task.id);
            resolve(outcome);
          },
          (error: unknown) => {
            parking.delete(task.id);
            reject(error);
          },
        );
      });
    },
    onRecord(listener) {
      listeners.push(listener);
    },
    admitThrough(gate) {
      engine.admission.useRemote(gate);
    },
  };
}
