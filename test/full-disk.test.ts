// A full disk, for real: the data directory lives on a small tmpfs that the test
// mounts and fills. Tests run as root on CI; where mounting is not allowed (no root,
// a container without CAP_SYS_ADMIN) they skip and say why.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createRuntime, isStewardError, type Runtime, type RuntimeEvent } from '@steward/core';

const mountPoint = mkdtempSync(join(tmpdir(), 'steward-fulldisk-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountPoint], { encoding: 'utf8' });
const skip = mounted.status === 0 ? false : `cannot mount a tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim()}): a full disk needs one`;

/** Fills the file system with one file until it refuses another byte; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 8, 1]) {
      const chunk = Buffer.alloc(size, 1);
      try {
        while (true) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

function waitFor(rt: Runtime, type: RuntimeEvent['type']): Promise<void> {
  return new Promise((resolve) => {
    const sub = rt.events$.subscribe((e) => {
      if (e.type === type) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
}

/**
 * Submits one at a time until a write fails. Returns the acknowledged ids and the
 * submission caught in the failing write: it is neither acknowledged nor refused
 * yet (it waits for room, or is refused at shutdown).
 */
async function submitUntilWriteFails(rt: Runtime, failed: Promise<void>): Promise<{ acked: string[]; caught: Promise<{ id: string }> }> {
  const acked: string[] = [];
  const failing = failed.then(() => 'failing' as const);
  for (let i = 0; i < 5_000; i++) {
    const submitted = rt.submit('job', { i, pad: 'x'.repeat(200) });
    submitted.catch(() => undefined);
    const first = await Promise.race([submitted, failing]);
    if (first === 'failing') return { acked, caught: submitted };
    acked.push(first.id);
  }
  throw new Error('5,000 submits on a full disk were all acknowledged');
}

/**
 * Runs `fn` on a data directory inside the tmpfs, with a way to fill the disk (undone
 * afterwards whatever happens), and checks that nothing was an unhandled rejection.
 */
async function onFullableDisk(name: string, fn: (dataDir: string, disk: { fill(): void; free(): void }) => Promise<void>): Promise<void> {
  const dataDir = join(mountPoint, name);
  mkdirSync(dataDir);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  let filler: string | undefined;
  const disk = {
    fill: () => {
      filler = fill(mountPoint);
    },
    free: () => {
      if (filler !== undefined) rmSync(filler, { force: true });
      filler = undefined;
    },
  };
  try {
    await fn(dataDir, disk);
  } finally {
    disk.free();
    process.off('unhandledRejection', onUnhandled);
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
}

describe('a full disk', { skip }, () => {
  after(() => {
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  for (const durability of ['batched', 'strict'] as const) {
    it(`refuses submits with STEWARD_STORE_FULL, loses nothing acknowledged, and recovers in place once there is room (${durability})`, { timeout: 60_000 }, () =>
      onFullableDisk(`inplace-${durability}`, async (dataDir, disk) => {
        const rt = await createRuntime({ dataDir, durability, logger: { warn: () => undefined, error: () => undefined } });
        rt.define('job', { handler: () => 'done' });
        const acked: string[] = [];
        for (let i = 0; i < 20; i++) acked.push((await rt.submit('job', i)).id);
        const failedEvent = waitFor(rt, 'journal:write-failed');
        disk.fill();
        const first = await submitUntilWriteFails(rt, failedEvent);
        acked.push(...first.acked);
        // While the disk is full, new submits are refused at once: nothing piles up.
        for (let i = 0; i < 100; i++) {
          await assert.rejects(rt.submit('job', i), (e: unknown) => isStewardError(e) && e.code === 'STEWARD_STORE_FULL');
        }
        const recovered = waitFor(rt, 'journal:write-recovered');
        disk.free();
        await recovered;
        // The submission caught in the failed write is acknowledged once it is written.
        acked.push((await first.caught).id);
        for (let i = 0; i < 5; i++) acked.push((await rt.submit('job', i)).id);
        for (const id of acked.slice(-5)) assert.equal((await rt.task(id)!.result()).status, 'completed');
        await rt.shutdown();
        const again = await createRuntime({ dataDir });
        try {
          const missing = acked.filter((id) => again.get(id) === undefined);
          assert.deepEqual(missing, [], `all ${acked.length} acknowledged tasks are there after reopening`);
        } finally {
          await again.shutdown();
        }
      }));

    it(`shuts down cleanly while the disk is still full, and keeps what was acknowledged (${durability})`, { timeout: 60_000 }, () =>
      onFullableDisk(`shutdown-${durability}`, async (dataDir, disk) => {
        const rt = await createRuntime({ dataDir, durability, logger: { warn: () => undefined, error: () => undefined } });
        rt.define('job', { handler: () => 'done' });
        const failedEvent = waitFor(rt, 'journal:write-failed');
        disk.fill();
        const { acked, caught } = await submitUntilWriteFails(rt, failedEvent);
        await assert.rejects(rt.submit('job', 0), (e: unknown) => isStewardError(e) && e.code === 'STEWARD_STORE_FULL');
        await rt.shutdown();
        // Never written, so never acknowledged: refused at shutdown.
        await assert.rejects(caught, (e: unknown) => isStewardError(e) && e.code === 'STEWARD_STORE_FULL');
        disk.free();
        const again = await createRuntime({ dataDir });
        try {
          assert.deepEqual(acked.filter((id) => again.get(id) === undefined), [], 'every acknowledged task is there');
        } finally {
          await again.shutdown();
        }
      }));
  }
});
