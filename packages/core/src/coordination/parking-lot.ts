import { PriorityQueue } from '../scheduling/priority-queue.js';
import type { ReadyItem } from '../scheduling/ready-queue.js';

interface Entry<T> {
  readonly item: T;
  readonly ticket: number;
  /** What the item waits for in this lot (a lock mode, say). */
  readonly tag: string;
}

function before<T extends ReadyItem>(a: Entry<T>, b: Entry<T>): boolean {
  return a.item.rank > b.item.rank || (a.item.rank === b.item.rank && a.item.order < b.item.order);
}

/**
 * Queued tasks that cannot be admitted yet, parked by what they wait for (a lock,
 * a bucket, the resource guard), best first within each key. A parked task is
 * out of the ready queue, so the tasks behind it are not held up; it goes back
 * when what it waits for is released. Removal is lazy, by the item's ticket.
 */
export class ParkingLot<T extends ReadyItem> {
  readonly #lots = new Map<string, PriorityQueue<Entry<T>>>();
  readonly #live = new Map<string, { key: string; ticket: number }>();

  get size(): number {
    return this.#live.size;
  }

  /** Keys with a lot, live or not yet cleaned (what the lot holds in memory). */
  get lots(): number {
    return this.#lots.size;
  }

  /** The key a task is parked under, or undefined. */
  keyOf(id: string): string | undefined {
    return this.#live.get(id)?.key;
  }

  park(key: string, item: T, tag = ''): void {
    let lot = this.#lots.get(key);
    if (lot === undefined) {
      lot = new PriorityQueue<Entry<T>>(before);
      this.#lots.set(key, lot);
    }
    item.ticket++;
    lot.push({ item, ticket: item.ticket, tag });
    this.#live.set(item.id, { key, ticket: item.ticket });
  }

  remove(item: T): boolean {
    const live = this.#live.get(item.id);
    if (live === undefined || live.ticket !== item.ticket) return false;
    this.#live.delete(item.id);
    return true;
  }

  /** The best item parked under `key` and what it waits for, without taking it. */
  peek(key: string): { item: T; tag: string } | undefined {
    const head = this.#head(key);
    return head === undefined ? undefined : { item: head.item, tag: head.tag };
  }

  /** Takes the best item parked under `key`. */
  take(key: string): T | undefined {
    const head = this.#head(key);
    if (head === undefined) return undefined;
    this.#lots.get(key)?.pop();
    this.#live.delete(head.item.id);
    return head.item;
  }

  /** Takes every item parked under `key`, best first. */
  takeAll(key: string): T[] {
    const out: T[] = [];
    for (let item = this.take(key); item !== undefined; item = this.take(key)) out.push(item);
    this.#lots.delete(key);
    return out;
  }

  /** Live items, in no particular order (for status views). */
  items(): Array<{ item: T; key: string }> {
    const out: Array<{ item: T; key: string }> = [];
    for (const [key, lot] of this.#lots) {
      for (const entry of lot.values()) if (this.#live.get(entry.item.id)?.ticket === entry.ticket) out.push({ item: entry.item, key });
    }
    return out;
  }

  #head(key: string): Entry<T> | undefined {
    const lot = this.#lots.get(key);
    if (lot === undefined) return undefined;
    for (;;) {
      const head = lot.peek();
      if (head === undefined) {
        this.#lots.delete(key);
        return undefined;
      }
      if (this.#live.get(head.item.id)?.ticket === head.ticket) return head;
      lot.pop();
    }
  }
}
