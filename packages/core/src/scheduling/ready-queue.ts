import { PriorityQueue } from './priority-queue.js';

/** What the ready queue needs of a task: its type, rank and submission order. */
export interface ReadyItem {
  readonly id: string;
  readonly type: string;
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

/**
 * Ready tasks, one heap per task type. Keeping types apart is what lets a type
 * at its concurrency limit be passed over without blocking the types behind it:
 * `take` looks at the best head of every type that may run now (few types, so a
 * scan is cheap) and pops that one. Removal is lazy by ticket.
 */
export class ReadyQueue<T extends ReadyItem> {
  readonly #byType = new Map<string, PriorityQueue<Entry<T>>>();
  readonly #live = new Map<string, number>();
  #size = 0;

  /** Number of live (not removed) items. */
  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    let heap = this.#byType.get(item.type);
    if (heap === undefined) {
      heap = new PriorityQueue<Entry<T>>(before);
      this.#byType.set(item.type, heap);
    }
    // Adding a live item again re-queues it rather than counting it twice.
    if (!this.#live.has(item.id)) this.#size++;
    item.ticket++;
    heap.push({ item, ticket: item.ticket });
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

  /** Pops the best item among types `canRun` accepts, or undefined. */
  take(canRun: (type: string) => boolean): T | undefined {
    let bestHeap: PriorityQueue<Entry<T>> | undefined;
    let best: Entry<T> | undefined;
    for (const [type, heap] of this.#byType) {
      const head = this.#head(heap);
      if (head === undefined) {
        this.#byType.delete(type);
        continue;
      }
      if (!canRun(type)) continue;
      if (best === undefined || before(head, best)) {
        best = head;
        bestHeap = heap;
      }
    }
    if (best === undefined || bestHeap === undefined) return undefined;
    bestHeap.pop();
    this.#live.delete(best.item.id);
    this.#size--;
    return best.item;
  }

  /** Live items, best first (sorts a copy: for status views, not the hot path). */
  ordered(): T[] {
    const out: T[] = [];
    for (const heap of this.#byType.values()) {
      for (const entry of heap.values()) if (this.#live.get(entry.item.id) === entry.ticket) out.push(entry.item);
    }
    return out.sort((a, b) => (b.rank - a.rank) || (a.order - b.order));
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
