// The CPU task of the realistic-work scenario: 2 ms of CPU, measured with
// performance.now in a loop. The same function serves Piscina (called with the task)
// and Steward's worker executor (called with input and ctx), so both run identical work.

/** How long one task keeps its thread busy, in milliseconds. */
export const SPIN_MS = 2;

/** Spins the CPU for {@link SPIN_MS} ms and returns how many loop turns that took. */
export default function spin(): number {
  const end = performance.now() + SPIN_MS;
  let turns = 0;
  while (performance.now() < end) turns++;
  return turns;
}
