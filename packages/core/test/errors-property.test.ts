import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryLogStore } from '@steward/store';
import { createRuntime, isStewardErrorCode, STEWARD_ERROR_CODES, StewardError, type Runtime } from '../src/index.js';
import { ManualClock } from '../src/testing.js';
import { createTaskTable } from '../src/journal/reducer.js';
import { restoreInto, SNAPSHOT_VERSION } from '../src/journal/snapshot.js';
import { WORKERS } from './helpers.js';

// The property: whatever a caller passes, a public call either succeeds or throws
// (or rejects with) a StewardError whose code is one of STEWARD_ERROR_CODES.
// Arguments are arbitrary values of every kind (symbols, BigInts, objects whose
// String() throws, null-prototype objects, typed arrays...) mixed with shapes close
// to valid ones, so that validation is passed at every depth. Functions a caller
// hands in (handlers, clocks' methods, an executor's close) are taken at their word:
// the property checks the shape of what is given, not what user code does.
// `rt.signal` does not exist on this runtime yet, so it is not covered here.

const NUM_RUNS = 150;

/** Says what was thrown, whatever it is (its own String() may throw). */
function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) return `${error.constructor.name} ${(error as { code?: unknown }).code ?? ''}: ${error.message}`;
    return `a non-Error ${typeof error}`;
  } catch {
    return 'something that cannot be described';
  }
}

/** Why calls were refused, counted: said when too few calls get past validation. */
const refusals = new Map<string, number>();
const commonRefusals = (): string =>
  [...refusals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([reason, count]) => `${count}x ${reason}`)
    .join('; ');

/** Runs `call`; returns its value, or undefined after checking that what it threw is a StewardError with a known code. */
async function succeedsOrThrowsStewardError(name: string, call: () => unknown): Promise<unknown> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StewardError && isStewardErrorCode(error.code)) {
      const reason = `${name}: ${error.message.slice(0, 60)}`;
      refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
      return undefined;
    }
    assert.fail(`${name} threw ${describeThrown(error)}: not a StewardError with a code of STEWARD_ERROR_CODES`);
  }
}

/** Values of every kind, for any argument or field. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 2,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
  fc.constantFrom<unknown>(
    Symbol('junk'),
    () => undefined,
    Number.NaN,
    Infinity,
    -1,
    1.5,
    2 ** 60,
    '',
    [],
    {},
    { toString: null, valueOf: null }, // String() of it throws a TypeError
    Object.create(null),
    new Error('not an option'),
  ),
);

/** A value from `valid`, or now and then junk. */
const maybe = <T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 50, arbitrary: valid }, { weight: 1, arbitrary: junk });
/** Objects with some of `fields`, each from its own arbitrary (mostly valid, now and then junk). */
const partial = (fields: Record<string, fc.Arbitrary<unknown>>, required: string[] = []): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(fields, { requiredKeys: required });

/**
 * Like {@link partial}, and in one case out of six one or two fields replaced by
 * junk: for the outermost objects, so that most of them stay valid and the checks
 * deep inside are reached.
 */
const spoiled = (fields: Record<string, fc.Arbitrary<unknown>>, required: string[] = []): fc.Arbitrary<Record<string, unknown>> => {
  const keys = Object.keys(fields);
  const overrides = fc.oneof(
    { weight: 5, arbitrary: fc.constant([] as Array<[string, unknown]>) },
    // Unbiased: fast-check favours the first of constantFrom's values, which would spoil the same few fields.
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.noBias(fc.integer({ min: 0, max: keys.length - 1 })).map((i) => keys[i]!), junk), { minLength: 1, maxLength: 2 }) },
  );
  return fc.tuple(partial(fields, required), overrides).map(([valid, bad]) => {
    const out: Record<string, unknown> = { ...valid };
    for (const [key, value] of bad) out[key] = value;
    return out;
  });
};

/** A positive integer: valid for every count and duration (0, negatives and fractions come from junk). */
const smallInt = fc.integer({ min: 1, max: 2_000 });
const retries = partial({
  attempts: maybe(fc.integer({ min: 0, max: 3 })),
  backoff: maybe(fc.constantFrom('fixed', 'exponential')),
  delayMs: maybe(smallInt),
  maxDelayMs: maybe(smallInt),
  jitter: maybe(fc.boolean()),
});
const locks = fc.array(fc.oneof(fc.string({ maxLength: 4 }), partial({ name: maybe(fc.string({ maxLength: 4 })), mode: maybe(fc.constantFrom('exclusive', 'shared')) })), { maxLength: 3 });
const priority = fc.oneof(fc.constantFrom('critical', 'high', 'medium', 'low', 'background'), fc.integer({ min: 1, max: 5 }));
const supervision = partial({ maxRestarts: maybe(smallInt), withinMs: maybe(smallInt), quarantineMs: maybe(smallInt) });

/** The defaults any definition may carry. */
const definitionDefaults = {
  priority: maybe(priority),
  timeoutMs: maybe(smallInt),
  retries: maybe(retries),
  concurrency: maybe(smallInt),
  locks: maybe(locks),
  lockTimeoutMs: maybe(smallInt),
  rateLimit: maybe(fc.constantFrom('bucket', 'missing')),
  supervision: maybe(supervision),
};
/** Task definitions: a handler, a worker module or a command (no executor runs commands here), or junk. */
const definition = fc.oneof(
  { weight: 1, arbitrary: junk },
  { weight: 4, arbitrary: spoiled({ handler: fc.constant(() => 1), ...definitionDefaults }, ['handler']) },
  {
    weight: 2,
    arbitrary: spoiled({
      module: fc.oneof(fc.constant(WORKERS.href), fc.constant(WORKERS), fc.constant('relative.js')),
      export: maybe(fc.constantFrom('default', 'noop', 'missing')),
      resourceLimits: maybe(partial({ maxOldGenerationSizeMb: maybe(fc.integer({ min: 32, max: 256 })), stackSizeMb: maybe(fc.integer({ min: 1, max: 8 })) })),
      ...definitionDefaults,
    }, ['module']),
  },
  { weight: 1, arbitrary: spoiled({ command: fc.constantFrom('true', 'node'), args: maybe(fc.array(fc.string({ maxLength: 4 }))), ...definitionDefaults }, ['command']) },
);

const silentLogger = { warn: () => undefined, error: () => undefined };
const anyFunction = fc.constant(() => undefined);

/** Stores: a real one, objects shaped more or less like one, or junk. */
const store = fc.oneof(
  { weight: 1, arbitrary: junk },
  { weight: 8, arbitrary: fc.constant(null).map(() => new MemoryLogStore()) },
  { weight: 1, arbitrary: partial({ lastSeq: maybe(fc.nat()), append: anyFunction, read: anyFunction, flush: anyFunction, close: anyFunction }) },
);
/** Clocks: a real one, objects shaped more or less like one, or junk. */
const clock = fc.oneof(
  { weight: 1, arbitrary: junk },
  { weight: 8, arbitrary: fc.constant(null).map(() => new ManualClock()) },
  { weight: 1, arbitrary: partial({ now: fc.constant(() => 0), setTimeout: anyFunction, clearTimeout: anyFunction }) },
);
/** Loggers: a quiet one, objects shaped more or less like one, or junk. */
const logger = fc.oneof(
  { weight: 1, arbitrary: junk },
  { weight: 8, arbitrary: fc.constant(silentLogger) },
  { weight: 1, arbitrary: partial({ warn: anyFunction, error: anyFunction }) },
);
/** Executors: a whole one, objects shaped more or less like one, or junk. */
const executor = fc.oneof(
  { weight: 1, arbitrary: junk },
  { weight: 8, arbitrary: fc.record({ kind: fc.constantFrom('custom', 'other'), execute: anyFunction, close: fc.constant(async () => undefined) }) },
  {
    weight: 1,
    arbitrary: partial({ kind: maybe(fc.constantFrom('process', 'custom', 'inline', '')), execute: anyFunction, validate: anyFunction, close: fc.constant(async () => undefined) }),
  },
);

describe('every public call succeeds or throws a StewardError with a known code', () => {
  const base = mkdtempSync(join(tmpdir(), 'steward-errors-'));
  let dirs = 0;
  after(() => rmSync(base, { recursive: true, force: true }));

  it('createRuntime, over arbitrary options (and shutdown of what it made)', async (t) => {
    let created = 0;
    refusals.clear();
    const options = fc.oneof(
      { weight: 1, arbitrary: junk },
      {
        weight: 9,
        arbitrary: spoiled({
          // A string dataDir names a place on disk: only fresh directories under the test's own.
          dataDir: maybe(fc.constant('fresh')),
          durability: maybe(fc.constantFrom('batched', 'strict')),
          concurrency: maybe(fc.integer({ min: 1, max: 8 })),
          maxQueue: maybe(smallInt),
          maxPayloadBytes: maybe(smallInt),
          maxOutputBytes: maybe(fc.integer({ min: 1_024, max: 1 << 20 })),
          workers: maybe(partial({ minThreads: maybe(fc.integer({ min: 0, max: 2 })), maxThreads: maybe(fc.integer({ min: 1, max: 2 })), idleTimeoutMs: maybe(smallInt) })),
          priorities: maybe(fc.dictionary(fc.constantFrom('critical', 'high', 'medium', 'low', 'background'), fc.integer({ min: 1, max: 5 }), { minKeys: 1, maxKeys: 5 })),
          defaultPriority: maybe(priority),
          agingMs: maybe(smallInt),
          snapshotEvery: maybe(smallInt),
          retention: maybe(partial({ completedMs: maybe(smallInt), failedMs: maybe(smallInt) })),
          recovery: maybe(partial({ interruptionSpendsRetry: maybe(fc.boolean()), maxInterruptions: maybe(fc.integer({ min: 0, max: 1_000 })) })),
          supervision: maybe(supervision),
          rateLimits: maybe(fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), fc.record({ limit: maybe(smallInt), intervalMs: maybe(smallInt) }), { maxKeys: 2 })),
          resourceGuard: maybe(partial({ maxCpuPercent: maybe(fc.integer({ min: 1, max: 100 })), maxMemoryMb: maybe(smallInt), protect: maybe(priority) })),
          webhooks: maybe(partial({ maxAttempts: maybe(fc.integer({ min: 1, max: 100 })), timeoutMs: maybe(smallInt), allowPrivateNetworks: maybe(fc.boolean()) })),
          tasks: maybe(fc.dictionary(fc.string({ maxLength: 4 }), definition, { maxKeys: 2 })),
          executors: maybe(fc.array(executor, { maxLength: 2 })),
          store,
          clock,
          idGenerator: maybe(anyFunction),
          random: maybe(fc.constant(() => 0.5)),
          logger,
        }),
      },
    );
    await fc.assert(
      fc.asyncProperty(options, async (given) => {
        if (given !== null && typeof given === 'object') {
          const options = given as { dataDir?: unknown; store?: unknown };
          // dataDir and store exclude each other (checked above by the junk): keep one at a time here.
          if (options.dataDir !== undefined && options.store !== undefined) {
            if (created % 2 === 0) delete options.store;
            else delete options.dataDir;
          }
          if (typeof options.dataDir === 'string') options.dataDir = join(base, String(++dirs));
        }
        const rt = (await succeedsOrThrowsStewardError('createRuntime', () => createRuntime(given as never))) as Runtime | undefined;
        if (rt !== undefined) {
          created++;
          await succeedsOrThrowsStewardError('shutdown', () => rt.shutdown({ timeoutMs: 0 }));
        }
      }),
      { numRuns: NUM_RUNS },
    );
    t.diagnostic(`${created} of ${NUM_RUNS} runtimes created`);
    // The arbitraries must reach past validation now and then (typically one run in ten), to test what lies behind it.
    assert.ok(created >= NUM_RUNS / 50, `only ${created} of ${NUM_RUNS} runtimes were created; most refusals: ${commonRefusals()}`);
  });

  describe('on a running runtime', () => {
    let rt: Runtime;
    const ids: string[] = [];
    before(async () => {
      rt = await createRuntime({
        clock: new ManualClock(),
        concurrency: 2,
        workers: { minThreads: 0, maxThreads: 1 },
        rateLimits: { bucket: { limit: 1_000, intervalMs: 1_000 } },
        logger: silentLogger,
      });
      rt.define('ok', { handler: () => 1 });
    });
    after(() => rt.shutdown({ timeoutMs: 0 }));

    const knownId = fc.nat().map((n) => (ids.length === 0 ? 'none' : ids[n % ids.length]!));
    const typeName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('ok', 'a', 'b') }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }, { weight: 1, arbitrary: junk });

    it('define, over arbitrary types and definitions', async () => {
      let defined = 0;
      refusals.clear();
      await fc.assert(
        fc.asyncProperty(typeName, definition, async (type, given) => {
          if ((await succeedsOrThrowsStewardError('define', () => rt.define(type as never, given as never))) !== undefined) defined++;
        }),
        { numRuns: NUM_RUNS },
      );
      assert.ok(defined >= NUM_RUNS / 50, `only ${defined} of ${NUM_RUNS} definitions were taken; most refusals: ${commonRefusals()}`);
    });

    it('submit, over arbitrary types, inputs and options', async () => {
      refusals.clear();
      const options = fc.oneof(
        { weight: 1, arbitrary: junk },
        {
          weight: 4,
          arbitrary: spoiled({
            priority: maybe(priority),
            timeoutMs: maybe(smallInt),
            retries: maybe(retries),
            dependsOn: maybe(fc.array(fc.oneof(knownId, fc.string({ maxLength: 4 })), { maxLength: 2 })),
            onDependencyFailure: maybe(fc.constantFrom('fail', 'run')),
            locks: maybe(locks),
            lockTimeoutMs: maybe(smallInt),
            rateLimit: maybe(fc.constantFrom('bucket', 'missing')),
            idempotencyKey: maybe(fc.string({ minLength: 1, maxLength: 6 })),
            metadata: maybe(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })),
            // Never a deliverable webhook (these tests call no network): absent, or junk put in its place.
            webhook: fc.constant(undefined),
          }),
        },
      );
      await fc.assert(
        fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: fc.constant('ok') }, { weight: 1, arbitrary: typeName }), maybe(fc.jsonValue({ maxDepth: 3 })), options, async (type, input, given) => {
          const handle = (await succeedsOrThrowsStewardError('submit', () => rt.submit(type as never, input, given as never))) as { id: string } | undefined;
          if (handle !== undefined) ids.push(handle.id);
        }),
        { numRuns: NUM_RUNS },
      );
      assert.ok(ids.length >= NUM_RUNS / 50, `only ${ids.length} of ${NUM_RUNS} submits were taken; most refusals: ${commonRefusals()}`);
    });

    it('cancel, over arbitrary ids and reasons', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(knownId, fc.string({ maxLength: 4 }), junk), maybe(fc.string({ maxLength: 8 })), async (id, reason) => {
          await succeedsOrThrowsStewardError('cancel', () => rt.cancel(id as never, reason as never));
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('list, over arbitrary queries', async () => {
      const statuses = fc.constantFrom('waiting', 'queued', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'timed_out', 'lost');
      const query = fc.oneof(
        { weight: 1, arbitrary: junk },
        {
          weight: 4,
          arbitrary: spoiled({
            status: maybe(fc.oneof(statuses, fc.array(statuses, { maxLength: 3 }))),
            type: maybe(fc.constantFrom('ok', 'a')),
            workflowId: maybe(fc.string({ maxLength: 4 })),
            limit: maybe(smallInt),
            offset: maybe(smallInt),
          }),
        },
      );
      await fc.assert(
        fc.asyncProperty(query, async (given) => {
          await succeedsOrThrowsStewardError('list', () => rt.list(given as never));
        }),
        { numRuns: NUM_RUNS },
      );
    });
  });
});

describe('the codes', () => {
  it('STEWARD_ERROR_CODES lists every code the sources use, once', () => {
    assert.equal(new Set(STEWARD_ERROR_CODES).size, STEWARD_ERROR_CODES.length);
    // From dist/test back to the packages' sources.
    const packages = fileURLToPath(new URL('../../../', import.meta.url));
    const used = new Set<string>();
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts')) for (const match of readFileSync(path, 'utf8').matchAll(/['"`](STEWARD_[A-Z_]+)['"`]/g)) used.add(match[1]!);
      }
    };
    for (const name of readdirSync(packages)) {
      const src = join(packages, name, 'src');
      if (statSync(join(packages, name)).isDirectory() && readdirSync(join(packages, name)).includes('src')) walk(src);
    }
    assert.ok(used.size > 20, `found only ${used.size} codes: is the source path right?`);
    const missing = [...used].filter((code) => !isStewardErrorCode(code));
    assert.deepEqual(missing, [], `codes in use but not in STEWARD_ERROR_CODES: ${missing.join(', ')}`);
  });
});

describe('what the journal holds', () => {
  it('a snapshot of another format is refused with a StewardError naming the versions', () => {
    const newer = () => restoreInto(createTaskTable(30_000), { v: SNAPSHOT_VERSION + 1, nextOrder: 0, tasks: [] } as never);
    assert.throws(newer, (error: unknown) => error instanceof StewardError && error.code === 'STEWARD_STORE_VERSION' && error.message.includes(String(SNAPSHOT_VERSION + 1)));
    const garbage = () => restoreInto(createTaskTable(30_000), { tasks: 'none' } as never);
    assert.throws(garbage, (error: unknown) => error instanceof StewardError && error.code === 'STEWARD_STORE_CORRUPT');
  });
});

describe('the cases that threw TypeErrors', () => {
  const refusedWith = (code: string) => (error: unknown) => error instanceof StewardError && error.code === code;

  it('define with a symbol or an object without toString as its type', async () => {
    const rt = await createRuntime({ logger: silentLogger });
    try {
      assert.throws(() => rt.define(Symbol('t') as never, { handler: () => 1 }), refusedWith('STEWARD_INVALID_OPTIONS'));
      assert.throws(() => rt.define(Object.create(null) as never, { handler: () => 1 }), refusedWith('STEWARD_INVALID_OPTIONS'));
      await assert.rejects(rt.cancel(Object.create(null) as never), refusedWith('STEWARD_TASK_NOT_FOUND'));
      await assert.rejects(rt.submit(Symbol('t') as never), refusedWith('STEWARD_INVALID_OPTIONS'));
    } finally {
      await rt.shutdown();
    }
  });

  it('createRuntime with a store, clock, logger or executor that lacks what the runtime calls', async () => {
    await assert.rejects(createRuntime({ store: {} as never }), refusedWith('STEWARD_INVALID_OPTIONS'));
    await assert.rejects(createRuntime({ clock: { now: () => 0 } as never }), refusedWith('STEWARD_INVALID_OPTIONS'));
    await assert.rejects(createRuntime({ logger: { warn: () => undefined } as never }), refusedWith('STEWARD_INVALID_OPTIONS'));
    // Without close, shutdown() used to throw a TypeError: it is refused at creation now.
    await assert.rejects(createRuntime({ executors: [{ kind: 'custom', execute: () => undefined } as never] }), refusedWith('STEWARD_INVALID_OPTIONS'));
  });

  it('shutdown when an executor close throws at once: logged, not thrown', async () => {
    const warnings: string[] = [];
    const rt = await createRuntime({
      logger: { warn: (m: string) => warnings.push(m), error: () => undefined },
      executors: [{ kind: 'custom', execute: () => undefined, close: () => { throw new TypeError('close broke'); } }],
    });
    await rt.shutdown();
    assert.ok(warnings.some((m) => m.includes('failed to close')));
  });
});
