// The no-op task of the throughput scenarios. The same function serves Piscina
// (called with the task), Steward's worker executor (called with input and ctx)
// and Steward's inline executor, so every contender runs identical work.

/** Does nothing and returns nothing. */
export default function noop(): void {}
