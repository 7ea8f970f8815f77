#!/usr/bin/env node
// The `steward` command: `serve` runs a server; every other command is a client of
// the server whose address and token are in the data directory.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { TaskSnapshot } from '@steward/core';
import { Client, CliError } from '../client/client.js';
import { resolveDataDir } from '../client/data-dir.js';
import { human, parseDuration, progressBar, table } from './format.js';
import { runMcp } from './mcp.js';
import { serve } from './serve.js';
import { addSignalCommand } from './signal-command.js';
import { scheduleCommand } from './schedule-command.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'timed_out']);
const program = new Command();
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
program
  .name('steward')
  .description('Run and watch background tasks with a Steward server.\nWherever a task id is taken, any unique prefix of it will do (the 8 characters `steward status` prints).')
  .version(version, '-V, --version', 'print the version')
  .showSuggestionAfterError()
  .showHelpAfterError('(steward --help lists the commands)');

const dataOption = () => new Option('--data <dir>', 'data directory (default $STEWARD_DATA or ./.steward)');
const jsonOption = () => new Option('--json', 'print JSON for scripts');
const ID_HELP = 'task id, or any unique prefix of it (as `steward status` prints it)';

function print(json: boolean, value: unknown, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}

async function run(action: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await action()) ?? 0;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    console.error(`steward: ${e.code ?? 'error'}: ${e.message ?? String(error)}`);
    process.exitCode = error instanceof CliError && e.code === 'STEWARD_NO_SERVER' ? 3 : 1;
  }
}

program
  .command('serve')
  .description('run a Steward server (runtime, REST API, events, metrics) on a data directory')
  .addOption(dataOption())
  .option('--config <file>', 'config module of task types (default ./steward.config.mjs if present)')
  .option('--port <port>', 'port (0 picks a free one)', '4780')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--allow <commands>', 'comma-separated executables that may run as commands sent over HTTP')
  .option('--redis <url>', 'cluster mode: join the cluster on this Redis (redis://host:port) instead of keeping tasks in the data directory')
  .option('--prefix <name>', 'cluster mode: the cluster\'s key prefix in Redis', 'steward')
  .option('--node-id <name>', 'cluster mode: this node\'s name (default: host name and pid)')
  .action((opts: { data?: string; config?: string; port: string; host: string; allow?: string; redis?: string; prefix: string; nodeId?: string }) =>
    run(async () => {
      // Heard from the start: a Ctrl-C or SIGTERM while it is still starting stops it
      // cleanly once it is up, instead of killing it with half its startup done.
      const signals = holdStopSignals();
      const { stop } = await serve({
        dataDir: resolveDataDir(opts.data),
        ...(opts.config === undefined ? {} : { config: opts.config }),
        port: Number(opts.port),
        host: opts.host,
        ...(opts.allow === undefined ? {} : { allow: opts.allow.split(',').map((s) => s.trim()).filter(Boolean) }),
        ...(opts.redis === undefined ? {} : { redis: opts.redis, prefix: opts.prefix, ...(opts.nodeId === undefined ? {} : { nodeId: opts.nodeId }) }),
      });
      await signals.stopWith(stop);
    }),
  );

/**
 * SIGINT and SIGTERM, listened for from now on. `stopWith(stop)` resolves once `stop`
 * has run for the first of them (at once if one came already); a second one exits
 * with 130 without waiting: what runs is recovered as interrupted on the next start.
 */
function holdStopSignals(): { stopWith(stop: (signal: NodeJS.Signals) => Promise<void>): Promise<void> } {
  let first: NodeJS.Signals | undefined;
  let onFirst: ((signal: NodeJS.Signals) => void) | undefined;
  const quit = (signal: NodeJS.Signals) => {
    if (first !== undefined) process.exit(130);
    first = signal;
    onFirst?.(signal);
  };
  process.on('SIGINT', quit);
  process.on('SIGTERM', quit);
  return {
    stopWith: (stop) =>
      new Promise<void>((resolve) => {
        onFirst = (signal) => void stop(signal).then(resolve);
        if (first !== undefined) onFirst(first);
      }),
  };
}

program
  .command('mcp')
  .description('serve the Model Context Protocol over stdio (a running server on the data directory, or an embedded runtime)')
  .addOption(dataOption())
  .option('--config <file>', 'config module of task types, for the embedded runtime')
  .action((opts: { data?: string; config?: string }) =>
    run(async () => {
      await runMcp({ dataDir: resolveDataDir(opts.data), ...(opts.config === undefined ? {} : { config: opts.config }) });
      // Runs until the client closes stdin.
      await new Promise<void>((resolve) => process.stdin.on('close', resolve));
    }),
  );

program
  .command('add')
  .description('add a task: a command after --, or a defined type with --type')
  .addOption(dataOption())
  .addOption(jsonOption())
  .option('--type <type>', 'a task type defined on the server, instead of a command')
  .option('--input <json>', 'input of a typed task, as JSON')
  .option('--priority <priority>', 'critical, high, medium, low, background, or a number')
  .option('--after <ids...>', 'task ids (or unique prefixes) that must complete first')
  .option('--timeout <duration>', 'deadline of each attempt: 30s, 5m, 1h')
  .option('--retries <n>', 'retries after the first try')
  .argument('[command...]', 'the command and its arguments, after --')
  .action((command: string[], opts: { data?: string; json?: boolean; type?: string; input?: string; priority?: string; after?: string[]; timeout?: string; retries?: string }) =>
    run(async () => {
      const client = new Client(resolveDataDir(opts.data));
      const priority = opts.priority === undefined ? undefined : /^-?\d+(\.\d+)?$/.test(opts.priority) ? Number(opts.priority) : opts.priority;
      const options = {
        ...(priority === undefined ? {} : { priority }),
        ...(opts.after === undefined ? {} : { dependsOn: await Promise.all(opts.after.map((id) => client.resolveId(id))) }),
        ...(opts.timeout === undefined ? {} : { timeoutMs: parseDuration(opts.timeout) }),
        ...(opts.retries === undefined ? {} : { retries: { attempts: Number(opts.retries) } }),
      };
      let body: unknown;
      if (opts.type !== undefined) body = { type: opts.type, ...(opts.input === undefined ? {} : { input: JSON.parse(opts.input) }), options };
      else if (command.length > 0) body = { command: command[0], args: command.slice(1), cwd: process.cwd(), options };
      else throw new CliError('STEWARD_INVALID_OPTIONS', 'give a command after -- (steward add -- npm test) or --type');
      const task = await client.request<TaskSnapshot>('POST', '/api/tasks', body);
      print(opts.json === true, task, () => task.id);
    }),
  );

program
  .command('status')
  .description('list recent tasks, or show one')
  .addOption(dataOption())
  .addOption(jsonOption())
  .option('--limit <n>', 'tasks to list', '20')
  .argument('[id]', ID_HELP)
  .action((idOrPrefix: string | undefined, opts: { data?: string; json?: boolean; limit: string }) =>
    run(async () => {
      const client = new Client(resolveDataDir(opts.data));
      if (idOrPrefix !== undefined) {
        const id = await client.resolveId(idOrPrefix);
        const task = await client.request<TaskSnapshot>('GET', `/api/tasks/${encodeURIComponent(id)}`);
        print(opts.json === true, task, () =>
          table([
            ['id', task.id],
            ['type', task.type],
            ['status', task.status],
            ['priority', String(task.priority)],
            ['attempts', String(task.attempts)],
            ...(task.node === undefined ? [] : [['node', task.node]]),
            ['progress', task.progress === undefined ? '' : `${task.progress.percent}% ${task.progress.message ?? ''}`],
            ['duration', human(task.durationMs)],
            ...(task.error === undefined ? [] : [['error', `${task.error.code}: ${task.error.message}`]]),
            ...(task.result === undefined ? [] : [['result', JSON.stringify(task.result).slice(0, 200)]]),
          ]),
        );
        return;
      }
      const { tasks } = await client.request<{ tasks: TaskSnapshot[] }>('GET', `/api/tasks?limit=${Number(opts.limit)}`);
      // Cluster mode: a NODE column, which node runs (or ran) each task.
      const nodes = tasks.some((t) => t.node !== undefined);
      print(opts.json === true, tasks, () =>
        table([
          ['ID', 'TYPE', 'STATUS', 'PRIO', 'PROGRESS', 'TIME', ...(nodes ? ['NODE'] : [])],
          ...tasks.map((t) => [
            t.id.slice(0, 8),
            t.type,
            t.status,
            String(t.priority),
            t.progress === undefined ? '' : `${Math.round(t.progress.percent)}%`,
            human(t.durationMs),
            ...(nodes ? [t.node ?? ''] : []),
          ]),
        ]),
      );
    }),
  );

program
  .command('logs')
  .description("print a task's output; -f follows it until the task ends")
  .addOption(dataOption())
  .addOption(jsonOption())
  .option('-f, --follow', 'keep printing until the task ends')
  .argument('<id>', ID_HELP)
  .action((idOrPrefix: string, opts: { data?: string; json?: boolean; follow?: boolean }) =>
    run(async () => {
      const client = new Client(resolveDataDir(opts.data));
      const id = await client.resolveId(idOrPrefix);
      if (opts.follow !== true) {
        const { chunks } = await client.request<{ chunks: Array<{ stream: string; data: string }> }>('GET', `/api/tasks/${encodeURIComponent(id)}/logs`);
        for (const chunk of chunks) console.log(opts.json === true ? JSON.stringify(chunk) : chunk.data);
        return;
      }
      const bar = watchProgress(client, id);
      let status: string | undefined;
      for await (const line of client.lines(`/api/tasks/${encodeURIComponent(id)}/logs?follow=1`)) {
        const item = line as { stream?: string; data?: string; end?: boolean; status?: string };
        if (item.end === true) {
          status = item.status;
          break;
        }
        bar.clear();
        console.log(opts.json === true ? JSON.stringify(item) : item.data);
        bar.draw();
      }
      bar.stop();
      return status === undefined || status === 'completed' ? 0 : 1;
    }),
  );

program
  .command('wait')
  .description('wait for a task to end; exits 0 when it completed')
  .addOption(dataOption())
  .addOption(jsonOption())
  .argument('<id>', ID_HELP)
  .action((idOrPrefix: string, opts: { data?: string; json?: boolean }) =>
    run(async () => {
      const client = new Client(resolveDataDir(opts.data));
      const id = await client.resolveId(idOrPrefix);
      const bar = watchProgress(client, id);
      let task = await client.request<TaskSnapshot>('GET', `/api/tasks/${encodeURIComponent(id)}`);
      while (!TERMINAL.has(task.status)) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        task = await client.request<TaskSnapshot>('GET', `/api/tasks/${encodeURIComponent(id)}`);
      }
      bar.stop();
      print(opts.json === true, task, () => `${task.id} ${task.status}${task.error === undefined ? '' : ` (${task.error.code}: ${task.error.message})`}`);
      return task.status === 'completed' ? 0 : 1;
    }),
  );

program
  .command('report')
  .description('a summary of what ran: per type, failures, contention, restarts')
  .addOption(dataOption())
  .addOption(jsonOption())
  .option('--since <duration>', 'the window: 1d, 7d, 12h', '1d')
  .action((opts: { data?: string; json?: boolean; since: string }) =>
    run(async () => {
      const client = new Client(resolveDataDir(opts.data));
      const report = await client.request<{ markdown: string }>('GET', `/api/report?sinceMs=${parseDuration(opts.since)}`);
      if (opts.json === true) {
        const { markdown: _markdown, ...json } = report;
        console.log(JSON.stringify(json, null, 2));
      } else process.stdout.write(report.markdown);
    }),
  );

for (const [name, method, path, verb] of [
  ['cancel', 'DELETE', '', 'cancel a task'],
  ['retry', 'POST', '/retry', 'run a failed, cancelled or timed-out task again'],
] as const) {
  program
    .command(name)
    .description(verb)
    .addOption(dataOption())
    .addOption(jsonOption())
    .argument('<id>', ID_HELP)
    .action((idOrPrefix: string, opts: { data?: string; json?: boolean }) =>
      run(async () => {
        const client = new Client(resolveDataDir(opts.data));
        const id = await client.resolveId(idOrPrefix);
        const answer = await client.request<{ status: string; cancelled?: boolean }>(method, `/api/tasks/${encodeURIComponent(id)}${path}`);
        print(opts.json === true, answer, () => `${id} ${answer.status}`);
        return name === 'cancel' && answer.cancelled === false ? 1 : 0;
      }),
    );
}

scheduleCommand(program, { dataOption, jsonOption, run, print });

addSignalCommand(program, { dataOption, jsonOption, idHelp: ID_HELP, run, print });

/** On a terminal, a progress bar on stderr, fed by polling the task; elsewhere nothing. */
function watchProgress(client: Client, id: string): { draw(): void; clear(): void; stop(): void } {
  const tty = process.stderr.isTTY === true;
  let line = '';
  const draw = () => tty && line !== '' && process.stderr.write(`\r${line}`);
  const clear = () => tty && line !== '' && process.stderr.write(`\r${' '.repeat(line.length)}\r`);
  if (!tty) return { draw() {}, clear() {}, stop() {} };
  const timer = setInterval(() => {
    void client.request<TaskSnapshot>('GET', `/api/tasks/${encodeURIComponent(id)}`).then((task) => {
      clear();
      line = `${progressBar(task.progress?.percent ?? (task.status === 'completed' ? 100 : 0), task.progress?.message ?? task.status)}`;
      draw();
    }, () => undefined);
  }, 250);
  return {
    draw,
    clear,
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}

await program.parseAsync(process.argv);
