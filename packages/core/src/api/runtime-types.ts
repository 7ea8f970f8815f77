import type { TaskFailedError } from '../model/errors.js';
import type { SubmitOptions } from '../model/submit-options.js';
import type { TaskStatus } from '../model/types.js';

// The shapes of the runtime facade's arguments and answers (api/runtime.ts).

/** One webhook delivery as `webhookHistory()` shows it. */
export interface WebhookHistoryEntry {
  deliveryId: string;
  url: string;
  state: 'pending' | 'delivered' | 'failed';
  createdAt: number;
  nextAt?: number;
  attempts: Array<{ attempt: number; at: number; ok: boolean; status?: number; error?: string }>;
}

/** Filters of `rt.list()`. */
export interface ListQuery {
  status?: TaskStatus | TaskStatus[];
  type?: string;
  workflowId?: string;
  /** @defaultValue 100 */
  limit?: number;
  /** @defaultValue 0 */
  offset?: number;
}

/** One item of `executeMultiple`. */
export interface MultipleItem {
  type: string;
  input?: unknown;
  options?: SubmitOptions;
}

/** Options of `shutdown`. */
export interface ShutdownOptions {
  /** How long running work may take to finish before it is stopped. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Also run what is queued (within `timeoutMs`) instead of leaving it queued. @defaultValue false */
  drain?: boolean;
}

/** Callback of `executeWithCallback`: an error (TaskFailedError) or the result. */
export type TaskCallback<T = unknown> = (error: TaskFailedError | null, result?: T) => void;
