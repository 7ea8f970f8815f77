import type { Command, Option } from 'commander';
import { Client, CliError } from '../client/client.js';
import { resolveDataDir } from '../client/data-dir.js';
import { signalTask } from '../client/signals.js';

/** What the signal command borrows from the CLI's main module. */
export interface CommandKit {
  dataOption(): Option;
  jsonOption(): Option;
  idHelp: string;
  run(action: () => Promise<number | void>): Promise<void>;
  print(json: boolean, value: unknown, text: () => string): void;
}

/** Reads the JSON argument of `steward signal`; none means no payload. */
export function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError('STEWARD_INVALID_JSON', `the payload is not JSON (${(error as Error).message}); quote a string as '"text"'`);
  }
}

/** `steward signal ID NAME [JSON]`: sends a signal to a task's durable wait (an approval, say). */
export function addSignalCommand(program: Command, kit: CommandKit): void {
  program
    .command('signal')
    .description("send a signal to a task's durable wait (ctx.waitForSignal), e.g. steward signal 3f2a approval '{\"approved\":true}'")
    .addOption(kit.dataOption())
    .addOption(kit.jsonOption())
    .argument('<id>', kit.idHelp)
    .argument('<name>', 'name of the signal (as the handler waits for it)')
    .argument('[json]', 'the payload, as JSON (none: no payload)')
    .action((idOrPrefix: string, name: string, json: string | undefined, opts: { data?: string; json?: boolean }) =>
      kit.run(async () => {
        const payload = parsePayload(json);
        const client = new Client(resolveDataDir(opts.data));
        const id = await client.resolveId(idOrPrefix);
        const answer = await signalTask(client, id, name, payload);
        kit.print(opts.json === true, answer, () => `${id} signal "${name}" delivered; the task is ${answer.taskStatus}`);
      }),
    );
}
