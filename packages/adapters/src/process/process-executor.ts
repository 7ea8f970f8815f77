import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import {
  clampPercent,
  describeZodError,
  InvalidOptionsError,
  taskError,
  TaskFailure,
  toTaskError,
  type TaskDefinition,
} from '@steward/core';
import { traceEnv, type ExecutionRequest, type ExecutionSink, type Executor } from '@steward/core/executor';
import { CommandAllowList } from './command-allow.js';
import { LineSplitter } from './line-splitter.js';
import { processDefinitionSchema, type ProcessTaskDefinition } from './process-definition.js';
import { ProcessOrphanReaper } from './orphan-reaper.js';
import { GroupSampler } from './group-usage.js';
import { describeGroup, signalGroup } from './process-group.js';
import { TailBuffer } from './tail-buffer.js';
import { checkWorkingDirectory } from './working-directory.js';

/** Options of {@link processExecutor}. */
export interface ProcessExecutorOptions {
  /**
   * Programs that may be run, by name (found in the host's PATH) or absolute path.
   * A command is allowed when it resolves, in its task's cwd and PATH, to the same
   * file as an entry; a relative path (`./tool`) only when it is itself an entry.
   * Hosts that accept commands from outside should set it.
   * @defaultValue any
   */
  allow?: readonly string[];
  /** Time between SIGTERM and SIGKILL when a task is stopped. @defaultValue 5_000 */
  killGraceMs?: number;
  /** Characters kept of each stream for the result's tails. @defaultValue 16_384 */
  tailChars?: number;
  /**
   * How often a running command's process group is read from /proc for its
   * `resources` (CPU time, peak memory); see GroupUsage for what a reading sees.
   * @defaultValue 1_000
   */
  sampleIntervalMs?: number;
}

/** What a process task returns. */
export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdoutTail: string;
  stderrTail: string;
}

/** A stdout line of this form reports progress instead of being captured: `##steward:progress 40 scanned 400 files`. */
export const PROGRESS_PREFIX = '##steward:progress ';

interface Running {
  readonly child: ChildProcess;
  killTimer: NodeJS.Timeout | undefined;
}

// Pending SIGKILLs of groups whose leader is gone; close() fires them at once.
type PendingKill = { readonly pid: number; readonly timer: NodeJS.Timeout };

function parseProgress(line: string): { percent: number; message?: string } | undefined {
  const rest = line.slice(PROGRESS_PREFIX.length);
  const space = rest.indexOf(' ');
  const percent = Number(space === -1 ? rest : rest.slice(0, space));
  if (!Number.isFinite(percent)) return undefined;
  const message = space === -1 ? '' : rest.slice(space + 1).trim();
  return message.length > 0 ? { percent: clampPercent(percent), message } : { percent: clampPercent(percent) };
}

/**
 * Feeds `stream` to `splitter`; after each chunk, while `paced()` and the sink says
 * output is behind, the stream is paused until the sink has caught up.
 */
function readPaced(stream: Readable | null, splitter: LineSplitter, sink: ExecutionSink, paced: () => boolean): void {
  if (stream === null) return;
  const resume = () => stream.resume();
  stream.on('data', (chunk: Buffer) => {
    splitter.write(chunk);
    if (!paced()) return;
    const drained = sink.outputDrain?.();
    if (drained === undefined) return;
    stream.pause();
    drained.then(resume, resume);
  });
}

/**
 * Runs `command` definitions as child processes: no shell (arguments are never
 * interpreted), each in its own process group, stdout and stderr captured line by
 * line. Timeout and cancel send SIGTERM to the whole group, then SIGKILL after the
 * grace period; when the command exits, whatever it left running in its group is
 * stopped the same way, so no grandchild outlives its task.
 */
export class ProcessExecutor implements Executor {
  readonly kind = 'process';
  /** Stops, at recovery, the groups of attempts a killed host left running (Linux). */
  readonly reaper = new ProcessOrphanReaper();
  readonly #allow: CommandAllowList | undefined;
  readonly #killGraceMs: number;
  readonly #tailChars: number;
  readonly #running = new Set<Running>();
  readonly #pendingKills = new Set<PendingKill>();
  readonly #sampler: GroupSampler;

  constructor(options: ProcessExecutorOptions = {}) {
    if (options.killGraceMs !== undefined && (!Number.isInteger(options.killGraceMs) || options.killGraceMs < 0)) {
      throw new InvalidOptionsError('options.killGraceMs must be a non-negative integer');
    }
    // Validates the entries (options.allow must be an array of non-empty strings).
    this.#allow = options.allow === undefined ? undefined : new CommandAllowList(options.allow);
    this.#killGraceMs = options.killGraceMs ?? 5_000;
    this.#tailChars = options.tailChars ?? 16_384;
    if (options.sampleIntervalMs !== undefined && (!Number.isInteger(options.sampleIntervalMs) || options.sampleIntervalMs <= 0)) {
      throw new InvalidOptionsError('options.sampleIntervalMs must be a positive integer');
    }
    this.#sampler = new GroupSampler(options.sampleIntervalMs ?? 1_000);
  }

  /** Processes alive now (leaders of their groups). */
  get running(): number {
    return this.#running.size;
  }

  validate(type: string, definition: TaskDefinition): void {
    const parsed = processDefinitionSchema.passthrough().safeParse(definition);
    if (!parsed.success) throw new InvalidOptionsError(describeZodError(`definition "${type}"`, parsed.error));
    const { command, cwd, env } = definition as ProcessTaskDefinition;
    // A command computed from the input is checked at each run instead.
    if (typeof command === 'string') this.#allow?.check(command, { cwd: typeof cwd === 'string' ? cwd : undefined, path: env?.PATH ?? process.env.PATH });
  }

  /** True when `command` may run from `cwd` with the host's PATH (always, without an allow list). */
  allows(command: string, cwd?: string): boolean {
    return this.#allow === undefined || this.#allow.allows(command, { cwd, path: process.env.PATH });
  }

  /** True when this executor was given an allow list. */
  get restricted(): boolean {
    return this.#allow !== undefined;
  }

  execute(request: ExecutionRequest, sink: ExecutionSink): void {
    const definition = request.definition.source as ProcessTaskDefinition;
    let args: readonly string[];
    let command: string;
    let cwd: string | undefined;
    let spawnPath: string | undefined;
    try {
      command = typeof definition.command === 'function' ? definition.command(request.input) : definition.command;
      if (typeof command !== 'string' || command.length === 0) throw new TypeError('command must be a non-empty string');
      args = typeof definition.args === 'function' ? definition.args(request.input) : definition.args ?? [];
      if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) throw new TypeError('args must be an array of strings');
      cwd = typeof definition.cwd === 'function' ? definition.cwd(request.input) : definition.cwd;
      if (cwd !== undefined) checkWorkingDirectory(cwd, command);
      // With an allow list, what runs is the file that was checked, found in the
      // task's cwd and PATH as the spawn would, and spawned by its absolute path.
      if (this.#allow !== undefined) {
        const program = this.#allow.check(command, { cwd, path: definition.env?.PATH ?? process.env.PATH });
        if (program === undefined) throw new TaskFailure(`could not start "${command}": no such program`, { code: 'STEWARD_PROCESS_SPAWN', retryable: false });
        spawnPath = program;
      }
    } catch (error) {
      sink.failed({ ...toTaskError(error), retryable: false });
      return;
    }
    if (request.signal.aborted) return;
    const child = spawn(spawnPath ?? command, args, {
      argv0: command,
      cwd,
      // The attempt's span, when tracing, over any the host or the definition carries.
      env: definition.env === undefined && request.traceContext === undefined ? process.env : { ...process.env, ...definition.env, ...traceEnv(request.traceContext) },
      detached: true, // its own process group, so the group can be signalled as one
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const running: Running = { child, killTimer: undefined };
    this.#running.add(running);
    const grace = definition.killGraceMs ?? this.#killGraceMs;
    // Journaled before anything else of the attempt, so that if the host dies from
    // here on, recovery finds the group and stops it before the task runs again.
    // (spawn returns after the child's exec, so it already leads its own group.)
    const group = child.pid === undefined ? undefined : describeGroup(child.pid, grace);
    if (group !== undefined) sink.processStarted(group);
    const usage = group === undefined ? undefined : this.#sampler.watch(group.pid, group.pgid, group.startTime);
    const stdoutTail = new TailBuffer(this.#tailChars);
    const stderrTail = new TailBuffer(this.#tailChars);
    const stdout = new LineSplitter((line) => {
      if (line.startsWith(PROGRESS_PREFIX)) {
        const progress = parseProgress(line);
        if (progress !== undefined) {
          sink.progress(progress.percent, progress.message);
          return;
        }
      }
      stdoutTail.line(line);
      sink.output('stdout', line);
    });
    const stderr = new LineSplitter((line) => {
      stderrTail.line(line);
      sink.output('stderr', line);
    });
    // Paced reading: while the runtime's output store is behind, the pipes are not
    // read, so a flood waits in the child (blocked on a full pipe), not in the host.
    // Pacing ends when the command exits or the attempt is stopped: what is left in
    // the pipes is then read at once, so 'close' comes.
    let paced = true;
    readPaced(child.stdout, stdout, sink, () => paced);
    readPaced(child.stderr, stderr, sink, () => paced);
    const unpace = () => {
      paced = false;
      child.stdout?.resume();
      child.stderr?.resume();
    };

    const stop = () => {
      unpace();
      this.#stopGroup(running, grace);
    };
    request.signal.addEventListener('abort', stop, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    // The leader is gone: stop what it left in its group, so 'close' (which waits
    // for every holder of the pipes) does come.
    child.on('exit', () => {
      // The leader is reaped already; what is left of its group is read once more.
      usage?.sample();
      unpace();
      if (child.pid !== undefined && signalGroup(child.pid, 0)) this.#stopGroup(running, grace);
    });
    child.on('close', (exitCode, signal) => {
      stdout.end();
      stderr.end();
      request.signal.removeEventListener('abort', stop);
      this.#forget(running);
      if (usage !== undefined) this.#sampler.forget(usage);
      if (request.signal.aborted) return; // the attempt already ended as timed out or cancelled
      const used = usage?.usage;
      if (used !== undefined) sink.resourcesUsed?.(used);
      if (spawnError !== undefined) {
        const code = (spawnError as NodeJS.ErrnoException).code;
        sink.failed(taskError('STEWARD_PROCESS_SPAWN', `could not start "${command}": ${spawnError.message}`, code !== 'ENOENT' && code !== 'EACCES'));
        return;
      }
      const result: ProcessResult = { exitCode, signal, stdoutTail: stdoutTail.toString(), stderrTail: stderrTail.toString() };
      if (exitCode === 0) {
        sink.succeeded(result);
        return;
      }
      const tail = result.stderrTail.trim().split('\n').slice(-5).join('\n');
      if (signal !== null) {
        // Killed by a signal nobody here sent (a segfault, the OOM killer): the
        // process crashed, which supervision counts.
        sink.crashed(taskError('STEWARD_PROCESS_EXIT', `"${command}" was killed by ${signal}${tail ? `; stderr: ${tail}` : ''}`, true));
        return;
      }
      sink.failed(taskError('STEWARD_PROCESS_EXIT', `"${command}" exited with code ${exitCode}${tail ? `; stderr: ${tail}` : ''}`, true));
    });
  }

  async close(): Promise<void> {
    const closing = [...this.#running].map(
      (running) =>
        new Promise<void>((resolve) => {
          running.child.once('close', () => resolve());
          this.#stopGroup(running, 0);
          // A child already reaped has nothing left to close.
          if (running.child.exitCode !== null || running.child.signalCode !== null) resolve();
        }),
    );
    await Promise.all(closing);
    for (const running of [...this.#running]) this.#forget(running);
    for (const pending of this.#pendingKills) {
      clearTimeout(pending.timer);
      signalGroup(pending.pid, 'SIGKILL');
    }
    this.#pendingKills.clear();
    this.#sampler.close();
  }

  /** SIGTERM to the group now, SIGKILL after `grace` (at once when it is 0). */
  #stopGroup(running: Running, grace: number): void {
    const pid = running.child.pid;
    if (pid === undefined) return;
    if (grace === 0) {
      signalGroup(pid, 'SIGKILL');
      return;
    }
    if (!signalGroup(pid, 'SIGTERM')) return;
    if (running.killTimer !== undefined) return;
    running.killTimer = setTimeout(() => {
      running.killTimer = undefined;
      signalGroup(pid, 'SIGKILL');
    }, grace);
  }

  #forget(running: Running): void {
    this.#running.delete(running);
    const timer = running.killTimer;
    const pid = running.child.pid;
    if (timer === undefined || pid === undefined) return;
    running.killTimer = undefined;
    clearTimeout(timer);
    // Something of the group may still be alive (it ignored SIGTERM): its SIGKILL
    // stays due, tracked apart from the running leaders.
    if (!signalGroup(pid, 0)) return;
    const pending: PendingKill = {
      pid,
      timer: setTimeout(() => {
        this.#pendingKills.delete(pending);
        signalGroup(pid, 'SIGKILL');
      }, this.#killGraceMs),
    };
    this.#pendingKills.add(pending);
  }
}

/** Creates the process executor: pass it in `createRuntime({ executors: [processExecutor()] })`. */
export function processExecutor(options: ProcessExecutorOptions = {}): ProcessExecutor {
  return new ProcessExecutor(options);
}
