import { z } from 'zod';
import type { DefinitionDefaults } from '@steward/core';

/**
 * A task type that runs a command as a child process. (A type alias, not an
 * interface, so it fits core's open `ExternalTaskDefinition`.)
 */
export type ProcessTaskDefinition<I = any> = DefinitionDefaults & {
  /**
   * The executable: a name looked up in PATH (the task's `env.PATH` if it sets one),
   * or a path, fixed or computed from the input. Never run through a shell. With an
   * allow list it is resolved to the file it names and checked as that file.
   */
  command: string | ((input: I) => string);
  /** Its arguments, fixed or computed from the task's input. @defaultValue [] */
  args?: readonly string[] | ((input: I) => readonly string[]);
  /** Working directory, fixed or computed from the input. @defaultValue the host's */
  cwd?: string | ((input: I) => string | undefined);
  /** Extra environment variables, over the host's. */
  env?: Record<string, string>;
  /** Time between SIGTERM and SIGKILL when the task is stopped. @defaultValue the executor's (5_000) */
  killGraceMs?: number;
};

/** Fields of a process definition (the shared defaults are checked by core). */
const computed = <T extends z.ZodType>(schema: T) =>
  z.union([schema, z.custom<(input: unknown) => unknown>((v) => typeof v === 'function', { message: 'must be a value or a function of the input' })]);

export const processDefinitionSchema = z.object({
  command: computed(z.string().min(1)),
  args: z
    .union([
      z.array(z.string()),
      z.custom<(input: unknown) => string[]>((v) => typeof v === 'function', { message: 'must be an array of strings or a function' }),
    ])
    .optional(),
  cwd: computed(z.string().min(1)).optional(),
  env: z.record(z.string(), z.string()).optional(),
  killGraceMs: z.number().int().min(0).max(3_600_000).optional(),
});
