import type { Engine } from './engine.js';
import { TaskNotFoundError } from './errors.js';
import { isTerminal, type OutputChunk } from './types.js';

/**
 * A task's output as an async iterable. Without `follow` it yields what is kept
 * now; with `follow` it goes on until the task ends (or the runtime stops). It
 * subscribes before it reads, and reads the buffer by chunk number, so nothing
 * written between the two is missed or yielded twice.
 */
export function followOutput(engine: Engine, id: string, follow: boolean): AsyncIterable<OutputChunk> {
  const task = typeof id === 'string' ? engine.table.tasks.get(id) : undefined;
  if (task === undefined) throw new TaskNotFoundError(String(id));
  return {
    async *[Symbol.asyncIterator]() {
      let dirty = false;
      let wake: (() => void) | undefined;
      const poke = () => {
        dirty = true;
        wake?.();
      };
      const subscription = follow
        ? engine.events.subscribe({
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
          for (const chunk of engine.output(id)?.chunks() ?? []) {
            if (chunk.n <= last) continue;
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
