import type { OutputChunk } from './types.js';

/** A chunk with its running number within the task's output. */
export interface NumberedChunk extends OutputChunk {
  readonly n: number;
}

/**
 * A task's captured output, bounded by bytes: past the cap the oldest chunks go
 * and the tail is kept, so a chatty long-running task cannot grow memory without
 * limit. Chunks are numbered so a follower can tell what it has already seen.
 */
export class OutputBuffer {
  readonly #maxBytes: number;
  readonly #chunks: NumberedChunk[] = [];
  #head = 0;
  #bytes = 0;
  #next = 0;
  /** Chunks dropped from the front to respect the cap. */
  dropped = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  append(chunk: OutputChunk): NumberedChunk {
    // A single chunk larger than the cap keeps only its tail.
    const data = chunk.data.length > this.#maxBytes ? chunk.data.slice(chunk.data.length - this.#maxBytes) : chunk.data;
    const numbered: NumberedChunk = { stream: chunk.stream, data, at: chunk.at, n: this.#next++ };
    this.#chunks.push(numbered);
    this.#bytes += data.length;
    while (this.#bytes > this.#maxBytes && this.#head < this.#chunks.length) {
      this.#bytes -= (this.#chunks[this.#head] as NumberedChunk).data.length;
      this.#head++;
      this.dropped++;
    }
    // Compact now and then so dropped chunks are released.
    if (this.#head > 1024 && this.#head * 2 > this.#chunks.length) {
      this.#chunks.splice(0, this.#head);
      this.#head = 0;
    }
    return numbered;
  }

  /** The chunks kept, oldest first. */
  chunks(): NumberedChunk[] {
    return this.#chunks.slice(this.#head);
  }
}
