import type { EngineView } from '../engine/engine-view.js';
import { TaskNotFoundError } from '../model/errors.js';
import { isTerminal, type OutputChunk } from '../model/types.js';

/**
 * A task's output as an async iterable. Without `follow` it yields what is kept
 * now; with `follow` it goes on until the task ends (or the runtime stops). It
 * subscribes before it reads, and reads the buffer by chunk number, so nothing
 * written between the two is missed or yielded twice.
 */
export function followOutput(engine: EngineView, id: string, follow: boolean): AsyncIterable<OutputChunk> {
  const task = typeof id === 'string' ? engine.table.tasks.get(id) : undefined;
  if (task === undefined) throw new TaskNotFoundError(id);
  if (engine.followOutput !== undefined) return engine.followOutput(id, follow);
  if (engine.output.onDisk) return followStoredOutput(engine, id, follow);
  return {
    async *[Symbol.asyncIterator]() {
      let dirty = false;
      let wake: (() => void) | undefined;
      const poke = () => {
        dirty = true;
        wake?.();
      };
      const subscription = follow
        ? engine.events$.subscribe({
            next: (event) => {
              if (event.taskId === id) poke();
            },
            complete: poke,
          })
        : undefined;
      let last = -1;
      try {
        for (;;) {
          dirty = false;
          for (const chunk of engine.output.buffer(id)?.after(last) ?? []) {
            last = chunk.n;
            yield { stream: chunk.stream, data: chunk.data, at: chunk.at };
          }
          if (!follow || isTerminal(task.status) || engine.state === 'stopped') return;
          if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        subscription?.unsubscribe();
      }
    },
  };
}

/**
 * The same over output kept in the store. Live chunks are taken from events from
 * the moment of subscribing; the store supplies everything before that moment, told
 * apart by this session's chunk number at subscription.
 */
function followStoredOutput(engine: EngineView, id: string, follow: boolean): AsyncIterable<OutputChunk> {
  const task = engine.table.tasks.get(id);
  return {
    async *[Symbol.asyncIterator]() {
      const live: OutputChunk[] = [];
      let wake: (() => void) | undefined;
      let ended = false;
      const firstLive = engine.output.count(id);
      // Following an ended task is reading it: nothing more will come.
      const following = follow && task !== undefined && !isTerminal(task.status);
      const subscription = following
        ? engine.events$.subscribe({
            next: (event) => {
              if (event.taskId !== id) return;
              if (event.type === 'task:output') live.push({ stream: event.stream, data: event.data, at: event.at });
              wake?.();
            },
            complete: () => {
              ended = true;
              wake?.();
            },
          })
        : undefined;
      try {
        for await (const chunk of engine.output.stored(id)) {
          if (subscription !== undefined && chunk.s === engine.output.sessionId && chunk.n >= firstLive) continue;
          yield { stream: chunk.stream, data: chunk.data, at: chunk.at };
        }
        if (!following) return;
        for (;;) {
          while (live.length > 0) yield live.shift() as OutputChunk;
          if (task === undefined || isTerminal(task.status) || ended || engine.state === 'stopped') return;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        subscription?.unsubscribe();
      }
    },
  };
}
