import type { CompiledAction, CompiledMachine, CompiledState } from './compile-machine.js';

/** The timers a compiled actor arms its delayed transitions on (the runtime's clock or timer wheel). */
export interface CompiledClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * One run of a compiled machine: what an XState actor of the same machine does, on
 * the transition table, with no actor system, no snapshot objects and no spawn. It
 * keeps XState's order: on a transition, the source's delayed events are cancelled,
 * the assignments make the next context, the target's entry actions run with the
 * triggering event, then its delayed events are armed. Events sent while it is
 * processing (from inside an action) wait their turn, as in XState's mailbox. A
 * final state ignores every later event.
 */
export class CompiledActor<TContext extends object, TEvent extends { type: string }> {
  readonly #machine: CompiledMachine;
  readonly #actions: Readonly<Record<string, CompiledAction<TContext, TEvent>>>;
  readonly #clock: CompiledClock;
  #state: CompiledState;
  #context: TContext;
  #timers: unknown[] | undefined;
  #mailbox: TEvent[] | undefined;
  #processing = false;
  #started = false;

  constructor(machine: CompiledMachine, actions: Readonly<Record<string, CompiledAction<TContext, TEvent>>>, input: unknown, clock: CompiledClock) {
    this.#machine = machine;
    this.#actions = actions;
    this.#clock = clock;
    this.#state = machine.states.get(machine.initial) as CompiledState;
    this.#context = machine.createContext(input) as TContext;
    for (const state of machine.states.values()) {
      for (const action of state.entry) {
        if (typeof actions[action.type] !== 'function') throw new Error(`compiled machine "${machine.id}": action "${action.type}" is not provided`);
      }
    }
  }

  /** The current state's name. */
  get value(): string {
    return this.#state.key;
  }

  /** 'done' once a final state is reached. */
  get status(): 'active' | 'done' {
    return this.#state.final ? 'done' : 'active';
  }

  get context(): Readonly<TContext> {
    return this.#context;
  }

  /** The machine's output (its `output` of the context), once done. */
  get output(): unknown {
    return this.#state.final ? this.#machine.output?.({ context: this.#context }) : undefined;
  }

  /** Enters the initial state: its entry actions run with XState's init event. */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    this.#processing = true;
    try {
      this.#enter(this.#state, { type: 'xstate.init' } as unknown as TEvent);
    } finally {
      this.#processing = false;
    }
    this.#drain();
    return this;
  }

  send(event: TEvent): void {
    if (this.#processing) {
      (this.#mailbox ??= []).push(event);
      return;
    }
    this.#processing = true;
    try {
      this.#process(event);
    } finally {
      this.#processing = false;
    }
    this.#drain();
  }

  /** Stops the delayed transitions (the owner gives up the run). */
  stop(): void {
    this.#clearTimers();
  }

  #drain(): void {
    while (this.#mailbox !== undefined && this.#mailbox.length > 0) {
      const next = this.#mailbox.shift() as TEvent;
      this.#processing = true;
      try {
        this.#process(next);
      } finally {
        this.#processing = false;
      }
    }
  }

  #process(event: TEvent): void {
    const source = this.#state;
    if (source.final) return;
    const transition = source.on.get(event.type);
    if (transition === undefined) return;
    if (transition.guard !== undefined && !this.#machine.guards[transition.guard]?.({ context: this.#context, event })) return;
    this.#clearTimers();
    if (transition.assignments.length > 0) {
      const next = { ...this.#context } as Record<string, unknown>;
      const args = { context: this.#context, event };
      for (const { key, value, computed } of transition.assignments) next[key] = computed ? (value as (a: typeof args) => unknown)(args) : value;
      this.#context = next as TContext;
    }
    const target = this.#machine.states.get(transition.target) as CompiledState;
    this.#state = target;
    this.#enter(target, event);
  }

  #enter(state: CompiledState, event: TEvent): void {
    for (const action of state.entry) {
      const args = { context: this.#context, event };
      (this.#actions[action.type] as CompiledAction<TContext, TEvent>)(args, action.params?.(args));
    }
    if (state.after.length === 0 || this.#state !== state) return;
    for (const { delay, eventType } of state.after) {
      const ms = this.#machine.delays[delay]?.({ context: this.#context, event }) ?? 0;
      const handle = this.#clock.setTimeout(() => this.send({ type: eventType } as TEvent), ms);
      (this.#timers ??= []).push(handle);
    }
  }

  #clearTimers(): void {
    if (this.#timers === undefined) return;
    for (const handle of this.#timers) this.#clock.clearTimeout(handle);
    this.#timers = undefined;
  }
}
