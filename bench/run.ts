// The benchmark runner: `npm run bench [-- --quick] [-- --threads <n|auto>] [-- <scenario>...]`.
// Runs the named scenarios (all when none is named), writes bench/results/latest.json
// and prints a markdown table with the Steward/Piscina ratios to stdout. Progress
// goes to stderr, so `npm run bench > report.md` keeps only the report.
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, platform, arch, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { Result, Scenario } from './scenario.js';
import { admission } from './scenarios/admission.js';
import { durableVsBullmq } from './scenarios/bullmq.js';
import { cluster } from './scenarios/cluster.js';
import { latency } from './scenarios/latency.js';
import { payload } from './scenarios/payload.js';
import { inlineVsPQueue, processVsSpawn } from './scenarios/peers.js';
import { queueGrowth } from './scenarios/queue-growth.js';
import { queueMemory } from './scenarios/queue-memory.js';
import { journalThroughput } from './scenarios/journal-throughput.js';
import { noopThroughput } from './scenarios/noop-throughput.js';
import { realisticWork } from './scenarios/realistic-work.js';
import { replay } from './scenarios/replay.js';

/** Every scenario, in the order a full run takes them. */
export const SCENARIOS: readonly Scenario[] = [
  noopThroughput,
  inlineVsPQueue,
  processVsSpawn,
  durableVsBullmq,
  journalThroughput,
  latency,
  payload,
  queueMemory,
  queueGrowth,
  replay,
  admission,
  realisticWork,
  cluster,
];

const DEFAULT_THREADS = 2;
const RESULTS_DIR = new URL('../results/', import.meta.url);
const USAGE = `usage: node bench/dist/run.js [--quick] [--check] [--threads <n|auto>] [scenario...]
scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`;

interface Invocation {
  readonly quick: boolean;
  /** Exit non-zero when a scenario produced no figure (CI): never a threshold. */
  readonly check: boolean;
  readonly threads: number;
  readonly scenarios: readonly Scenario[];
}

function parseInvocation(argv: string[]): Invocation {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { quick: { type: 'boolean', default: false }, check: { type: 'boolean', default: false }, threads: { type: 'string' } },
  });
  const threads = values.threads === undefined ? DEFAULT_THREADS : values.threads === 'auto' ? availableParallelism() : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer or "auto"; got "${values.threads}"`);
  const scenarios = positionals.map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (scenario === undefined) throw new Error(`unknown scenario "${name}"`);
    return scenario;
  });
  return { quick: values.quick ?? false, check: values.check ?? false, threads, scenarios: scenarios.length > 0 ? scenarios : SCENARIOS };
}

function machine() {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    availableParallelism: availableParallelism(),
    totalMemoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: platform(),
    arch: arch(),
  };
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function table(results: readonly Result[]): string {
  const lines = [
    '| scenario | system | config | metric | median | min | max | unit | runs |',
    '|---|---|---|---|--:|--:|--:|---|--:|',
  ];
  for (const r of results) {
    const figures = [r.median, r.min, r.max].map((n) => (Math.abs(n) < 100 ? n.toFixed(n < 10 ? 3 : 1) : integer.format(n))).join(' | ');
    lines.push(`| ${r.scenario} | ${r.system} | ${r.config} | ${r.metric} | ${figures} | ${r.unit} | ${r.runs.length} |`);
  }
  return lines.join('\n');
}

/** One line per Steward result: its median over the median of the peer its scenario names as baseline. */
function ratios(results: readonly Result[], scenarios: readonly Scenario[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.system !== 'steward') continue;
    const baseline = scenarios.find((s) => s.name === r.scenario)?.baseline;
    if (baseline === undefined) continue;
    const system = baseline.systemFor?.(r.config) ?? baseline.system;
    const config = baseline.match(r.config);
    const base = results.find((p) => p.system === system && p.config === config && p.scenario === r.scenario && p.metric === r.metric);
    if (base === undefined || base === r) continue;
    lines.push(`ratio steward(${r.config})/${system}(${config}): ${(r.median / base.median).toFixed(2)}   [${r.scenario}, ${r.metric} ${r.unit}, median/median]`);
  }
  return lines;
}

async function main(): Promise<void> {
  let invocation: Invocation;
  try {
    invocation = parseInvocation(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const { quick, check, threads, scenarios } = invocation;
  const startedAt = new Date().toISOString();
  const log = (line: string) => console.error(line);
  const results: Result[] = [];
  const empty: string[] = [];
  for (const scenario of scenarios) {
    log(`${scenario.name}${quick ? ' (quick)' : ''}: ${scenario.description}; ${threads} threads`);
    const produced = await scenario.run({ quick, threads, log });
    if (produced.length === 0) empty.push(scenario.name);
    results.push(...produced);
  }
  const report = { machine: machine(), startedAt, quick, results };
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = new URL('latest.json', RESULTS_DIR);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(table(results));
  console.log();
  for (const line of ratios(results, scenarios)) console.log(line);
  log(`\nwrote ${file.pathname}`);
  if (check && empty.length > 0) {
    console.error(`no figure from: ${empty.join(', ')}`);
    process.exitCode = 1;
  }
}

await main();
