/** The system a result was measured on. */
export type System = 'steward' | 'piscina' | 'p-queue' | 'bullmq' | 'leveldb' | 'spawn' | 'node';

/** What the runner hands every scenario. */
export interface ScenarioOptions {
  /** A small version of the scenario, for a quick check. */
  readonly quick: boolean;
  /** Worker threads of every pool (and the runtime's concurrency). */
  readonly threads: number;
  /** Progress lines, to stderr so stdout stays the report. */
  readonly log: (line: string) => void;
}

/** One row of the report: a metric of one system in one configuration, over repeated runs. */
export interface Result {
  readonly scenario: string;
  readonly system: System;
  /** How the system was set up: `bare` for Piscina; executor and journal for Steward (`worker memory`). */
  readonly config: string;
  readonly metric: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every measured run, in order (the warm-up excluded). */
  readonly runs: readonly number[];
  /** The parameters the runs used, so figures can be compared like for like. */
  readonly params: Readonly<Record<string, number | string>>;
}

/** A benchmark scenario: runs its contenders and returns one result per contender and metric. */
export interface Scenario {
  readonly name: string;
  readonly description: string;
  /**
   * The peer each Steward figure is divided by: its system, and its config for a given
   * Steward config. `systemFor`, when given, picks the peer's system per Steward config
   * (a worker figure against Piscina, an inline one against p-queue, in one scenario).
   */
  readonly baseline: { readonly system: System; match(stewardConfig: string): string; systemFor?(stewardConfig: string): System };
  run(options: ScenarioOptions): Promise<Result[]>;
}
