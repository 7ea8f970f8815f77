import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { CommandNotAllowedError, InvalidOptionsError } from '@steward/core';

/** Where a program is looked for: the working directory it starts in and the PATH it gets. */
export interface ProgramLookup {
  /** The child's working directory. @defaultValue the host's */
  cwd?: string | undefined;
  /** The PATH the child gets (the spawn looks the name up in it). @defaultValue `/usr/bin:/bin` when undefined */
  path?: string | undefined;
}

// What execvp and Node's spawn search when the environment has no PATH at all.
const DEFAULT_PATH = '/usr/bin:/bin';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True for a command that is a path relative to the working directory (`./sh`, `bin/tool`). */
export function isRelativeCommand(command: string): boolean {
  return command.includes('/') && !isAbsolute(command);
}

/**
 * The absolute path of the file a spawn of `command` would run, or undefined when
 * there is none: a path (absolute, or relative to `cwd`) as it is; a bare name
 * looked up in `path` in order, as execvp does (a relative entry, the empty one
 * included, is relative to `cwd`, where the child starts).
 */
export function resolveProgram(command: string, lookup: ProgramLookup = {}): string | undefined {
  const cwd = resolve(lookup.cwd ?? process.cwd());
  if (command.includes('/')) {
    const path = resolve(cwd, command);
    return isExecutableFile(path) ? path : undefined;
  }
  for (const dir of (lookup.path ?? DEFAULT_PATH).split(delimiter)) {
    const candidate = resolve(cwd, dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The file behind `path` with every symbolic link followed, so one program has one name. */
function canonical(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * An allow list of programs, compared by the file that would run, never by name:
 * an entry that is a bare name or an absolute path stands for the file it resolves
 * to in the host's PATH (looked up again at each check, so a program installed
 * later counts), and a command is allowed when it resolves, in the task's own cwd
 * and PATH, to one of those files (symbolic links followed on both sides). A
 * command given as a relative path (`./sh`) is allowed only when that same
 * relative path is an entry: what it names depends on the folder it starts in.
 */
export class CommandAllowList {
  readonly #entries: readonly string[];

  constructor(entries: readonly string[]) {
    if (!Array.isArray(entries) || entries.some((entry) => typeof entry !== 'string' || entry.length === 0)) {
      throw new InvalidOptionsError('options.allow must be an array of non-empty strings');
    }
    this.#entries = [...entries];
  }

  /** The entries as given. */
  get entries(): readonly string[] {
    return this.#entries;
  }

  /**
   * The absolute path to spawn for `command` when the list allows it. Undefined
   * when the command is an entry as written but runs nothing here (not installed,
   * not executable): the caller reports that as a failure to start. Anything else
   * throws CommandNotAllowedError.
   */
  check(command: string, lookup: ProgramLookup = {}): string | undefined {
    const relative = isRelativeCommand(command);
    if (relative && !this.#entries.includes(command)) throw new CommandNotAllowedError(command);
    const program = resolveProgram(command, lookup);
    const target = program === undefined ? undefined : canonical(program);
    if (program === undefined || target === undefined) {
      if (this.#entries.includes(command)) return undefined;
      throw new CommandNotAllowedError(command);
    }
    if (relative) return program;
    for (const entry of this.#entries) {
      if (isRelativeCommand(entry)) continue;
      // The allow list speaks for the host: its names are found in the host's PATH,
      // never in a PATH the task brings.
      const allowed = resolveProgram(entry, { path: process.env.PATH });
      if (allowed !== undefined && canonical(allowed) === target) return program;
    }
    throw new CommandNotAllowedError(command);
  }

  /** True when `command` may run (see {@link check}). */
  allows(command: string, lookup: ProgramLookup = {}): boolean {
    try {
      this.check(command, lookup);
      return true;
    } catch {
      return false;
    }
  }
}
