import { defer, filter, type Observable, takeWhile } from 'rxjs';
import type { EngineView } from '../engine/engine-view.js';
import type { RuntimeEvent } from '../events/events.js';
import type { WorkflowOutcome, WorkflowPhaseInput, WorkflowStatus, WorkflowTaskInput } from '../workflows/workflow-types.js';

const WORKFLOW_ENDS: ReadonlySet<string> = new Set(['workflow:completed', 'workflow:failed', 'workflow:cancelled']);

/**
 * A handle on one workflow. Built in one call with `rt.workflow(spec)` (started),
 * or step by step with `rt.createWorkflow({ name })`, `addPhase`, `addTask`, `start`.
 */
export class WorkflowHandle {
  readonly id: string;
  readonly name: string;
  readonly #engine: EngineView;

  /** @internal handles are made by the runtime */
  constructor(engine: EngineView, id: string, name: string) {
    this.#engine = engine;
    this.id = id;
    this.name = name;
  }

  /** Adds a phase (its `dependsOn` names phases added before it). Only before `start`. */
  addPhase(phase: WorkflowPhaseInput): this {
    this.#engine.workflows.addPhase(this.id, phase);
    return this;
  }

  /** Adds a task to a phase. Only before `start`. */
  addTask(phaseId: string, task: WorkflowTaskInput): this {
    this.#engine.workflows.addTask(this.id, phaseId, task);
    return this;
  }

  /** Submits every task; phases run as their dependencies complete. */
  async start(): Promise<this> {
    await this.#engine.workflows.start(this.id);
    return this;
  }

  /** Where the workflow and each phase are now. */
  getStatus(): WorkflowStatus {
    return this.#engine.workflows.status(this.id);
  }

  /** Waits for the end: completed, failed (a task did not complete) or cancelled. */
  result(): Promise<WorkflowOutcome> {
    return this.#engine.workflows.outcome(this.id);
  }

  /** Cancels what is running and queued. */
  async cancel(reason?: string): Promise<{ cancelled: boolean; status: string }> {
    return this.#engine.workflows.cancel(this.id, reason);
  }

  /** The workflow's own events and its tasks' events; completes after the workflow ends. */
  get events$(): Observable<RuntimeEvent> {
    const engine = this.#engine;
    const id = this.id;
    return defer(() => {
      const taskIds = () => new Set(Object.values(engine.workflows.status(id).tasks));
      let known = taskIds();
      return engine.events$.pipe(
        filter((event) => {
          if ('workflowId' in event && event.workflowId === id) {
            known = taskIds();
            return true;
          }
          return event.taskId !== undefined && known.has(event.taskId);
        }),
        takeWhile((event) => !('workflowId' in event && event.workflowId === id && WORKFLOW_ENDS.has(event.type)), true),
      );
    });
  }
}
