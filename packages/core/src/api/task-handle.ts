import { defer, EMPTY, filter, map, type Observable, startWith, takeWhile } from 'rxjs';
import type { EngineView } from '../engine/engine-view.js';
import { TaskNotFoundError } from '../model/errors.js';
import { TERMINAL_EVENTS, type RuntimeEvent } from '../events/events.js';
import { toSnapshot } from '../model/task-record.js';
import { isTerminal, type ProgressUpdate, type TaskOutcome, type TaskSnapshot } from '../model/types.js';

/** Events of one task, completing after its terminal event. */
export function taskEvents(engine: EngineView, id: string): Observable<RuntimeEvent> {
  return defer(() => {
    const task = engine.table.tasks.get(id);
    if (task === undefined || isTerminal(task.status)) return EMPTY;
    return engine.events$.pipe(
      filter((event) => event.taskId === id),
      takeWhile((event) => !TERMINAL_EVENTS.has(event.type), true),
    );
  });
}

/**
 * A handle on one task: what `submit` returns at once and `rt.task(id)` gives
 * back later. It holds only the id; every read goes to the runtime.
 */
export class TaskHandle<T = unknown> {
  readonly id: string;
  readonly type: string;
  readonly #engine: EngineView;

  /** @internal handles are made by the runtime */
  constructor(engine: EngineView, id: string, type: string) {
    this.#engine = engine;
    this.id = id;
    this.type = type;
  }

  /** The task as it is now. */
  getStatus(): TaskSnapshot {
    const task = this.#engine.table.tasks.get(this.id);
    if (task === undefined) throw new TaskNotFoundError(this.id); // dropped by retention
    return toSnapshot(task, this.#engine.options.clock.now());
  }

  /** Waits for the end; resolves with how it ended and never rejects for a task failure. */
  result(): Promise<TaskOutcome<T>> {
    return this.#engine.outcome(this.id) as Promise<TaskOutcome<T>>;
  }

  /** Cancels the task wherever it is; a running attempt is stopped for real. */
  async cancel(reason?: string): Promise<{ cancelled: boolean; status: TaskSnapshot['status'] }> {
    return this.#engine.cancel(this.id, reason);
  }

  /** Progress reports of this task, starting with the latest one if any; completes when the task ends. */
  get progress$(): Observable<ProgressUpdate> {
    const engine = this.#engine;
    const id = this.id;
    return defer(() => {
      const task = engine.table.tasks.get(id);
      const updates = taskEvents(engine, id).pipe(
        filter((event): event is Extract<RuntimeEvent, { type: 'task:progress' }> => event.type === 'task:progress'),
        map((event) => (event.message === undefined ? { percent: event.percent, at: event.at } : { percent: event.percent, message: event.message, at: event.at })),
      );
      const current = task?.status === 'running' ? task.progress : undefined;
      if (current === undefined) return updates;
      return updates.pipe(startWith({ ...current, at: engine.options.clock.now() }));
    });
  }

  /** Every event of this task; completes after the terminal one. */
  get events$(): Observable<RuntimeEvent> {
    return taskEvents(this.#engine, this.id);
  }
}
