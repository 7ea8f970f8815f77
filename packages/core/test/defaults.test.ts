import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createActor } from 'xstate';
import { supervisorMachine, treeSupervisorMachine } from '@steward/actors';
import { RUNTIME_DEFAULTS } from '../src/index.js';
import { resolveRuntimeOptions } from '../src/model/options.js';
import { DEFAULT_PRIORITIES } from '../src/scheduling/priorities.js';
import { DEFAULT_RETRY_POLICY } from '../src/scheduling/backoff.js';
import { WEBHOOK_DEFAULTS } from '../src/webhooks/webhook-options.js';
import { RESOURCE_GUARD_DEFAULTS } from '../src/coordination/resource-guard-options.js';
import { EVENT_SUBSCRIPTION_DEFAULTS, resolveEventSubscriptionOptions } from '../src/events/event-delivery.js';
import { SERVICE_SUPERVISION_DEFAULTS } from '../src/supervision/supervision.js';
import { DEFINITION_DEFAULTS } from '../src/model/task-definition.js';

/** Every object reachable from `value` is frozen. */
function assertDeepFrozen(value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  assert.ok(Object.isFrozen(value), `${path} is not frozen`);
  for (const [key, child] of Object.entries(value)) assertDeepFrozen(child, `${path}.${key}`);
}

/** What a machine puts in its context for an input it was not given: its own default, if it has one. */
function ownDefault(start: () => { getSnapshot(): { context: { maxRestarts: number; withinMs: number } } }): { maxRestarts?: number; withinMs?: number } {
  try {
    const { maxRestarts, withinMs } = start().getSnapshot().context;
    return { maxRestarts, withinMs };
  } catch {
    // A machine that refuses to start without the value has no default of its own.
    return {};
  }
}

describe('defaults', () => {
  it('keeps each concept\'s defaults in one frozen object', () => {
    const objects = { RUNTIME_DEFAULTS, DEFAULT_PRIORITIES, DEFAULT_RETRY_POLICY, WEBHOOK_DEFAULTS, RESOURCE_GUARD_DEFAULTS, EVENT_SUBSCRIPTION_DEFAULTS, SERVICE_SUPERVISION_DEFAULTS, DEFINITION_DEFAULTS };
    for (const [name, value] of Object.entries(objects)) assertDeepFrozen(value, name);
  });

  it('resolves options given nothing to the values of the defaults objects', () => {
    const resolved = resolveRuntimeOptions({ resourceGuard: { maxCpuPercent: 90 } });
    assert.equal(resolved.defaultPriority, DEFAULT_PRIORITIES[RUNTIME_DEFAULTS.defaultPriority]);
    assert.deepEqual(resolved.supervision, RUNTIME_DEFAULTS.supervision);
    assert.equal(resolved.recovery.onCorruption, RUNTIME_DEFAULTS.onCorruption);
    assert.equal(resolved.resourceGuard?.protect, DEFAULT_PRIORITIES[RESOURCE_GUARD_DEFAULTS.protect]);
    assert.equal(resolved.resourceGuard?.intervalMs, RESOURCE_GUARD_DEFAULTS.intervalMs);
    assert.equal(resolved.resourceGuard?.hysteresisPercent, RESOURCE_GUARD_DEFAULTS.hysteresisPercent);
    assert.deepEqual(resolveEventSubscriptionOptions(undefined), EVENT_SUBSCRIPTION_DEFAULTS);
    assert.deepEqual(resolveEventSubscriptionOptions({}), EVENT_SUBSCRIPTION_DEFAULTS);
  });

  it('gives the supervisor machines no restart intensity of their own: core\'s is the only one', () => {
    const typeMachine = ownDefault(() => createActor(supervisorMachine, { input: { name: 't' } as never }));
    for (const key of ['maxRestarts', 'withinMs'] as const) {
      const own = typeMachine[key];
      assert.ok(own === undefined || own === RUNTIME_DEFAULTS.supervision[key], `the task-type supervisor machine defaults ${key} to ${own}; core's default is ${RUNTIME_DEFAULTS.supervision[key]}`);
    }
    const treeMachine = ownDefault(() => createActor(treeSupervisorMachine, { input: { name: 't', children: [] } as never }));
    for (const key of ['maxRestarts', 'withinMs'] as const) {
      const own = treeMachine[key];
      assert.ok(own === undefined || own === SERVICE_SUPERVISION_DEFAULTS[key], `the tree supervisor machine defaults ${key} to ${own}; core's default is ${SERVICE_SUPERVISION_DEFAULTS[key]}`);
    }
  });
});
