/** A retry policy with every default filled in. */
export interface ResolvedRetryPolicy {
  /** Retries after the first try. */
  readonly attempts: number;
  readonly backoff: 'fixed' | 'exponential';
  readonly delayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: boolean;
}

/** Defaults of a retry policy: no retries unless asked for. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = Object.freeze({
  attempts: 0,
  backoff: 'exponential',
  delayMs: 1_000,
  maxDelayMs: 60_000,
  jitter: true,
});

/**
 * Delay before retry number `retry` (1 for the first retry). Exponential doubles
 * from `delayMs`, both kinds are capped at `maxDelayMs`; jitter ("equal jitter")
 * draws uniformly from [delay/2, delay] so a burst of failures does not retry in step.
 */
export function backoffDelayMs(policy: ResolvedRetryPolicy, retry: number, random: () => number): number {
  const base = policy.backoff === 'exponential' ? policy.delayMs * 2 ** Math.max(0, retry - 1) : policy.delayMs;
  const capped = Math.min(base, policy.maxDelayMs);
  if (!policy.jitter) return capped;
  return Math.round(capped / 2 + random() * (capped / 2));
}
