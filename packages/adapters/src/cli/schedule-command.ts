import { type Command, Option } from 'commander';
import type { ScheduleInfo, ScheduleSpec } from '@steward/core';
import { Client, CliError } from '../client/client.js';
import { resolveDataDir } from '../client/data-dir.js';
import { scheduleCalls } from '../client/schedules.js';
import { parseDuration, table } from './format.js';

/** What the schedule commands share with the other commands of `steward`. */
export interface CommandKit {
  dataOption(): Option;
  jsonOption(): Option;
  run(action: () => Promise<number | void>): Promise<void>;
  print(json: boolean, value: unknown, text: () => string): void;
}

const when = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().replace('.000Z', 'Z'));

/** One line of `steward schedule ls` per schedule. */
function rows(schedules: ScheduleInfo[]): string[][] {
  return [
    ['ID', 'WHEN', 'TYPE', 'NEXT', 'LAST', 'STATE'],
    ...schedules.map((s) => [s.id, s.cron === undefined ? `every ${s.every}ms` : `${s.cron} (${s.timezone})`, s.type, when(s.next), when(s.last), s.paused ? 'paused' : 'active']),
  ];
}

/** `steward schedule add|ls|rm|pause|resume`: the schedules of the server on the data directory. */
export function scheduleCommand(program: Command, kit: CommandKit): void {
  const schedule = program.command('schedule').description('schedules that submit a task on a clock (cron in a time zone, or every interval)');
  const calls = (data: string | undefined) => scheduleCalls(new Client(resolveDataDir(data)));

  schedule
    .command('add')
    .description('create or replace a schedule: --cron or --every, and the task type it submits')
    .addOption(kit.dataOption())
    .addOption(kit.jsonOption())
    .argument('<id>', 'schedule id (letters, digits, . _ : -)')
    .requiredOption('--type <type>', 'task type defined on the server')
    .option('--cron <pattern>', "cron pattern: minute hour day-of-month month day-of-week ('0 3 * * *')")
    .option('--tz <zone>', 'IANA time zone of the cron pattern (default UTC)')
    .option('--every <duration>', 'an interval instead of cron: 30s, 15m, 1h')
    .option('--input <json>', 'input of each task, as JSON')
    .option('--priority <priority>', 'critical, high, medium, low, background, or a number')
    .addOption(new Option('--overlap <mode>', 'while the last run has not ended').choices(['skip', 'allow']))
    .addOption(new Option('--catch-up <mode>', 'what runs of firings missed while the server was down').choices(['none', 'latest', 'all']))
    .action((id: string, opts: { data?: string; json?: boolean; type: string; cron?: string; tz?: string; every?: string; input?: string; priority?: string; overlap?: 'skip' | 'allow'; catchUp?: 'none' | 'latest' | 'all' }) =>
      kit.run(async () => {
        if ((opts.cron === undefined) === (opts.every === undefined)) throw new CliError('STEWARD_INVALID_OPTIONS', 'give exactly one of --cron and --every');
        const priority = opts.priority === undefined ? undefined : /^-?\d+(\.\d+)?$/.test(opts.priority) ? Number(opts.priority) : opts.priority;
        const spec: ScheduleSpec = {
          type: opts.type,
          ...(opts.cron === undefined ? {} : { cron: opts.cron }),
          ...(opts.every === undefined ? {} : { every: parseDuration(opts.every) }),
          ...(opts.tz === undefined ? {} : { timezone: opts.tz }),
          ...(opts.input === undefined ? {} : { input: JSON.parse(opts.input) as unknown }),
          ...(priority === undefined ? {} : { options: { priority } }),
          ...(opts.overlap === undefined ? {} : { overlap: opts.overlap }),
          ...(opts.catchUp === undefined ? {} : { catchUp: opts.catchUp }),
        };
        const info = await calls(opts.data).put(id, spec);
        kit.print(opts.json === true, info, () => `${info.id} next ${when(info.next)}`);
      }),
    );

  schedule
    .command('ls')
    .description('list the schedules with their next and last firing')
    .addOption(kit.dataOption())
    .addOption(kit.jsonOption())
    .action((opts: { data?: string; json?: boolean }) =>
      kit.run(async () => {
        const list = await calls(opts.data).list();
        kit.print(opts.json === true, list, () => (list.length === 0 ? 'no schedules' : table(rows(list))));
      }),
    );

  schedule
    .command('rm')
    .description('remove a schedule (the tasks it submitted stay)')
    .addOption(kit.dataOption())
    .addOption(kit.jsonOption())
    .argument('<id>', 'schedule id')
    .action((id: string, opts: { data?: string; json?: boolean }) =>
      kit.run(async () => {
        const answer = await calls(opts.data).remove(id);
        kit.print(opts.json === true, answer, () => `${id} removed`);
      }),
    );

  for (const verb of ['pause', 'resume'] as const) {
    schedule
      .command(verb)
      .description(verb === 'pause' ? 'stop a schedule firing (what falls meanwhile is skipped)' : 'let a paused schedule fire again')
      .addOption(kit.dataOption())
      .addOption(kit.jsonOption())
      .argument('<id>', 'schedule id')
      .action((id: string, opts: { data?: string; json?: boolean }) =>
        kit.run(async () => {
          const info = await calls(opts.data)[verb](id);
          kit.print(opts.json === true, info, () => `${info.id} ${info.paused ? 'paused' : `next ${when(info.next)}`}`);
        }),
      );
  }
}
