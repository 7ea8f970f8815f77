import { PriorityQueue } from './priority-queue.js';

/** What the ready queue needs of a task: its type, rank and submission order (and its key and priority, for fair share). */
export interface ReadyItem {
  readonly id: string;
  readonly type: string;
  /** Tasks of different keys at the same priority take turns; no key is the implicit key. */
  readonly concurrencyKey?: string | undefined;
  /** The task's own level (before aging); keys take turns among heads of the best head's level. */
  readonly priority?: number;
  /** Higher runs first; see {@link rankOf}. */
  rank: number;
  /** Submission order; breaks ties so a level is FIFO. */
  readonly order: number;
  /** Incremented each time the item is queued; a heap entry with an older ticket is stale. */
  ticket: number;
}

interface Entry<T extends ReadyItem> {
  readonly item: T;
  readonly ticket: number;
}

/**
 * The rank of a waiting task: `priority * agingMs - enqueuedAt`. Comparing ranks
 * is the same as comparing `priority + waitedMs / agingMs` at any instant, because
 * every waiting task ages at the same rate; so aging needs no periodic re-sorting
 * and a task that waited `agingMs` longer than another ranks one level higher.
 * With `agingMs` 0 aging is off and the rank is the priority.
 */
export function rankOf(priority: number, enqueuedAt: number, agingMs: number): number {
  return agingMs > 0 ? priority * agingMs - enqueuedAt : priority;
}

function before<T extends ReadyItem>(a: Entry<T>, b: Entry<T>): boolean {
  return a.item.rank > b.item.rank || (a.item.rank === b.item.rank && a.item.order < b.item.order);
}

/** The heap of one type and one key (the key undefined: the implicit key). */
interface Lane<T extends ReadyItem> {
  readonly type: string;
  readonly key: string | undefined;
  readonly heap: PriorityQueue<Entry<T>>;
}

/** A key's turn: when it was last served, and how many lanes (types) it has. */
interface Turn {
  served: number;
  lanes: number;
}

/**
 * Ready tasks, one heap per task type and concurrency key (a lane). Keeping types
 * apart is what lets a type at its concurrency limit be passed over without
 * blocking the types behind it, and keys apart what lets a full key be passed over
 * and lets keys take turns: `take` looks at the head of every lane that may run now
 * (few lanes, so a scan is cheap) and pops the best one; when the heads belong to
 * more than one key, among the heads of the best head's priority it pops the head
 * of the key served longest ago (round robin; a new key counts as never served).
 * Aging still works across levels: a task raised above every head of a higher
 * level is the best head, and its level's keys take turns. Removal is lazy by ticket.
 */
export class ReadyQueue<T extends ReadyItem> {
  readonly #lanes = new Map<string, Lane<T>>();
  readonly #turns = new Map<string | undefined, Turn>();
  readonly #live = new Map<string, number>();
  /** Lanes looked at by the last `take` (reused so a take allocates nothing). */
  readonly #heads: Array<Lane<T>> = [];
  #turn = 0;
  #size = 0;

  /** Number of live (not removed) items. */
  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    const key = item.concurrencyKey;
    const id = key === undefined ? item.type : `${item.type}\u0000${key}`;
    let lane = this.#lanes.get(id);
    if (lane === undefined) {
      lane = { type: item.type, key, heap: new PriorityQueue<Entry<T>>(before) };
      this.#lanes.set(id, lane);
      const turn = this.#turns.get(key);
      if (turn === undefined) this.#turns.set(key, { served: 0, lanes: 1 });
      else turn.lanes++;
    }
    // Adding a live item again re-queues it rather than counting it twice.
    if (!this.#live.has(item.id)) this.#size++;
    item.ticket++;
    lane.heap.push({ item, ticket: item.ticket });
    this.#live.set(item.id, item.ticket);
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Removes an item; its heap entry is skipped later. */
  remove(item: T): boolean {
    if (this.#live.get(item.id) !== item.ticket) return false;
    this.#live.delete(item.id);
    this.#size--;
    return true;
  }

  /**
   * Pops the best item among types `canRun` accepts and, for tasks with a key,
   * keys `canRunKey` accepts (a key at its definition's `keyConcurrency`), or undefined.
   */
  take(canRun: (type: string) => boolean, canRunKey?: (type: string, key: string) => boolean): T | undefined {
    const heads = this.#heads;
    heads.length = 0;
    let bestLane: Lane<T> | undefined;
    let best: Entry<T> | undefined;
    let mixed = false;
    for (const [id, lane] of this.#lanes) {
      const head = this.#head(lane.heap);
      if (head === undefined) {
        this.#drop(id, lane);
        continue;
      }
      if (!canRun(lane.type)) continue;
      if (lane.key !== undefined && canRunKey !== undefined && !canRunKey(lane.type, lane.key)) continue;
      if (heads.length > 0 && lane.key !== (heads[0] as Lane<T>).key) mixed = true;
      heads.push(lane);
      if (best === undefined || before(head, best)) {
        best = head;
        bestLane = lane;
      }
    }
    if (best === undefined || bestLane === undefined) return undefined;
    if (mixed) {
      // Keys take turns among the heads of the best head's level, but a head may take
      // the turn only if no head of another level outranks it (aging keeps its order).
      const level = best.item.priority;
      let floor = -Infinity;
      for (const lane of heads) {
        const item = (lane.heap.peek() as Entry<T>).item;
        if (item.priority !== level && item.rank > floor) floor = item.rank;
      }
      let served = (this.#turns.get(bestLane.key) as Turn).served;
      for (const lane of heads) {
        const head = lane.heap.peek() as Entry<T>;
        if (head.item.priority !== level || head.item.rank < floor) continue;
        const turn = (this.#turns.get(lane.key) as Turn).served;
        if (turn < served || (turn === served && before(head, best))) {
          best = head;
          bestLane = lane;
          served = turn;
        }
      }
    }
    heads.length = 0;
    bestLane.heap.pop();
    (this.#turns.get(bestLane.key) as Turn).served = ++this.#turn;
    this.#live.delete(best.item.id);
    this.#size--;
    return best.item;
  }

  /** Live items, best first by rank (sorts a copy: for status views, not the hot path). */
  ordered(): T[] {
    const out: T[] = [];
    for (const lane of this.#lanes.values()) {
      for (const entry of lane.heap.values()) if (this.#live.get(entry.item.id) === entry.ticket) out.push(entry.item);
    }
    return out.sort((a, b) => (b.rank - a.rank) || (a.order - b.order));
  }

  /** An empty lane goes; its key forgets its turn once it has no lane left. */
  #drop(id: string, lane: Lane<T>): void {
    this.#lanes.delete(id);
    const turn = this.#turns.get(lane.key) as Turn;
    if (--turn.lanes === 0) this.#turns.delete(lane.key);
  }

  #head(heap: PriorityQueue<Entry<T>>): Entry<T> | undefined {
    for (;;) {
      const head = heap.peek();
      if (head === undefined) return undefined;
      if (this.#live.get(head.item.id) === head.ticket) return head;
      heap.pop();
    }
  }
}
