// A storm of SIGKILLs in batched durability: a real host submits in bursts, is killed
// at a random moment after some acknowledgements, and is started again on the same
// data directory, over and over. Batched means acknowledged once the record reached
// LevelDB (the operating system's buffers): a crash of the process loses nothing
// acknowledged. The seed is printed, so a failure can be replayed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRuntime } from '@steward/core';
import { runHostAndKill } from './host-process.js';

const CYCLES = Number(process.env.STEWARD_KILL_CYCLES ?? 100);

/** A small seeded generator (mulberry32), so a run can be repeated exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('a kill storm in batched durability', () => {
  it(`loses no acknowledged task over ${CYCLES} SIGKILL cycles`, { timeout: 600_000 }, async (t) => {
    const seed = Number(process.env.STEWARD_KILL_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`seed ${seed} (STEWARD_KILL_SEED=${seed} repeats this run)`);
    // Two lanes, each its own data directory and host, so the storm uses both cores.
    const lanes = 2;
    const results = await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const next = random(seed + lane);
        const dataDir = await mkdtemp(join(tmpdir(), 'steward-storm-'));
        const acked: string[] = [];
        try {
          for (let cycle = lane; cycle < CYCLES; cycle += lanes) {
            const burst = 1 + Math.floor(next() * 20);
            const killAfter = 1 + Math.floor(next() * 60);
            const run = await runHostAndKill({ dataDir, durability: 'batched', count: 'forever', burst }, (r) => r.acks.length >= killAfter);
            assert.ok(!run.lines.some((l) => l.startsWith('UNHANDLED')), `cycle ${cycle}: ${run.lines.join(' | ')}`);
            acked.push(...run.acks);
          }
          const rt = await createRuntime({ dataDir });
          try {
            return { acked: acked.length, missing: acked.filter((id) => rt.get(id) === undefined) };
          } finally {
            await rt.shutdown();
          }
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      }),
    );
    const total = results.reduce((n, r) => n + r.acked, 0);
    const missing = results.flatMap((r) => r.missing);
    assert.deepEqual(missing, [], `${missing.length} of ${total} acknowledged tasks lost`);
    t.diagnostic(`${total} acknowledged tasks over ${CYCLES} kills, all found`);
  });
});
