import type { OutputChunk } from '../model/types.js';

/** A chunk with its running number within the task's output. */
export interface NumberedChunk extends OutputChunk {
  readonly n: number;
}

/**
 * The chunk cap that goes with a byte cap: one chunk per 128 bytes of it, so a flood
 * of empty or one-character lines keeps no more chunk objects than a flood of
 * ordinary lines (each chunk costs some 60 bytes of bookkeeping whatever its data,
 * and the fewer there are, the fewer outlive the young generation).
 */
export function chunkCapFor(maxBytes: number): number {
  return Math.max(16, Math.floor(maxBytes / 128));
}

/**
 * A task's captured output, bounded by bytes and by chunks: past either cap the
 * oldest chunks go and the tail is kept, so a chatty long-running task cannot grow
 * memory without limit, and an empty line counts (as one chunk) like any other.
 * A dropped chunk is released at once. Chunks are numbered so a follower can tell
 * what it has already seen.
 */
export class OutputBuffer {
  #maxBytes: number;
  #maxChunks: number;
  // Kept chunks live in #chunks[#head..]; slots before #head are emptied as they
  // are dropped and the array is compacted once they are half of it.
  #chunks: Array<NumberedChunk | undefined> = [];
  #head = 0;
  #bytes = 0;
  #next = 0;
  /** Chunks dropped from the front to respect the caps. */
  dropped = 0;

  constructor(maxBytes: number, maxChunks = chunkCapFor(maxBytes)) {
    this.#maxBytes = maxBytes;
    this.#maxChunks = Math.max(1, maxChunks);
  }

  /** Characters of data kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Chunks kept. */
  get length(): number {
    return this.#chunks.length - this.#head;
  }

  append(chunk: OutputChunk): NumberedChunk {
    // A single chunk larger than the cap keeps only its tail.
    const data = chunk.data.length > this.#maxBytes ? chunk.data.slice(chunk.data.length - this.#maxBytes) : chunk.data;
    const numbered: NumberedChunk = { stream: chunk.stream, data, at: chunk.at, n: this.#next++ };
    this.#chunks.push(numbered);
    this.#bytes += data.length;
    this.#enforce(this.#maxBytes, this.#maxChunks);
    return numbered;
  }

  /** The chunks kept, oldest first. */
  chunks(): NumberedChunk[] {
    return this.#chunks.slice(this.#head) as NumberedChunk[];
  }

  /** The chunks kept whose number is above `n`, oldest first (all of them for -1). */
  after(n: number): NumberedChunk[] {
    // Kept chunks are numbered without gaps, the newest being #next - 1.
    const first = this.#next - this.length;
    const skip = Math.max(0, Math.min(this.length, n + 1 - first));
    return this.#chunks.slice(this.#head + skip) as NumberedChunk[];
  }

  /**
   * Lowers the caps to `maxBytes` and `maxChunks` (the task ended: only its tail is
   * worth keeping) and lets go of every spare slot.
   */
  shrink(maxBytes: number, maxChunks: number): void {
    this.#maxBytes = Math.min(this.#maxBytes, maxBytes);
    this.#maxChunks = Math.max(1, Math.min(this.#maxChunks, maxChunks));
    this.#enforce(this.#maxBytes, this.#maxChunks);
    this.#chunks = this.#chunks.slice(this.#head);
    this.#head = 0;
  }

  #enforce(maxBytes: number, maxChunks: number): void {
    // The newest chunk is always kept (trimmed to the cap above).
    while ((this.#bytes > maxBytes || this.length > maxChunks) && this.length > 1) {
      this.#bytes -= (this.#chunks[this.#head] as NumberedChunk).data.length;
      this.#chunks[this.#head] = undefined; // released now, not at the next compaction
      this.#head++;
      this.dropped++;
    }
    if (this.#bytes > maxBytes) {
      // Only the newest is left and it alone is over a lowered cap: keep its tail.
      const last = this.#chunks[this.#head] as NumberedChunk;
      const data = last.data.slice(last.data.length - maxBytes);
      this.#bytes = data.length;
      this.#chunks[this.#head] = { ...last, data };
    }
    // Amortized O(1): the array is copied once the empty slots are half of it.
    if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
