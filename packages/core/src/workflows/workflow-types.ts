import type { TaskError } from '../model/task-error.js';
import type { z } from 'zod';
import type { workflowPhaseSchema, workflowSpecSchema, workflowTaskSchema } from '../model/schemas.js';

/**
 * A task of a workflow: its id within the workflow, its type, input and options
 * (submission options; `dependsOn` is the workflow's to set: it comes from the phases).
 */
export type WorkflowTaskInput = z.input<typeof workflowTaskSchema>;

/**
 * A phase: tasks that run in parallel once every phase it depends on has completed.
 * - `dependsOn`: phases (added before this one) that must complete first.
 */
export type WorkflowPhaseInput = z.input<typeof workflowPhaseSchema>;

/**
 * A whole workflow, for `rt.workflow()`: its `name`, `metadata`, `phases`, and a
 * `webhook` to POST the workflow's outcome to when it ends, signed with `secret`.
 */
export type WorkflowSpec = z.input<typeof workflowSpecSchema>;

/** Where a workflow is. */
export type WorkflowState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Where a phase is. */
export type PhaseState = 'pending' | 'waiting' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A task of the workflow that did not complete. */
export interface WorkflowFailedTask {
  /** Its id within the workflow. */
  id: string;
  taskId: string;
  phaseId: string;
  status: string;
  error?: TaskError;
}

/** What `wf.getStatus()` returns. */
export interface WorkflowStatus {
  id: string;
  name: string;
  status: WorkflowState;
  /** Completed tasks as a percent of all tasks, 0..100. */
  progress: number;
  phases: Array<{ id: string; status: PhaseState; completed: number; total: number; dependsOn: string[] }>;
  failedTasks: WorkflowFailedTask[];
  /** Runtime task id of each workflow task submitted so far, by its id within the workflow. */
  tasks: Record<string, string>;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
  metadata?: Record<string, unknown>;
}

/** What `wf.result()` resolves with once the workflow has ended. */
export interface WorkflowOutcome {
  workflowId: string;
  status: 'completed' | 'failed' | 'cancelled';
  /** Results of the completed tasks, by their ids within the workflow. */
  results: Record<string, unknown>;
  failedTasks: WorkflowFailedTask[];
  endedAt: number;
}
