// Starts the ack-host fixture as a real child process and kills it with SIGKILL at
// a moment the test chooses, collecting the ids it acknowledged before.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HOST = fileURLToPath(new URL('./fixtures/ack-host.js', import.meta.url));

export interface HostRun {
  /** Ids the host printed as acknowledged, in order. */
  readonly acks: string[];
  /** Lines that were not ACKs (READY, DONE, UNHANDLED …). */
  readonly lines: string[];
  readonly stderr: string;
}

/**
 * Runs the host until `killWhen` says so (checked after every line), then SIGKILLs it.
 * Rejects if the host exits by itself first.
 */
export function runHostAndKill(
  args: { dataDir: string; durability: 'batched' | 'strict'; count: number | 'forever'; burst?: number; snapshotEvery?: number },
  killWhen: (run: HostRun) => boolean,
): Promise<HostRun> {
  const argv = [HOST, args.dataDir, args.durability, String(args.count), String(args.burst ?? 1)];
  if (args.snapshotEvery !== undefined) argv.push(String(args.snapshotEvery));
  const child = spawn(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { acks: [] as string[], lines: [] as string[], stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => {
    run.stderr += chunk.toString();
  });
  return new Promise<HostRun>((resolve, reject) => {
    let killed = false;
    // 'close' comes after stdout ends: every ACK the host printed before it died is read.
    child.on('close', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve(run);
      else reject(new Error(`the host exited by itself (code ${code}, signal ${signal}): ${run.lines.join(' | ')} ${run.stderr}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('ACK ')) run.acks.push(line.slice(4));
      else run.lines.push(line);
      if (!killed && killWhen(run)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
  });
}
