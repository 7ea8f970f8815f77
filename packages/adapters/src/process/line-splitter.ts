import { StringDecoder } from 'node:string_decoder';

/**
 * Turns a byte stream into lines: chunks may end mid-line and mid-character, so the
 * unfinished tail is held until the next chunk (or `end`). No line emitted is
 * longer than `maxLine`: a longer one, whether its newline has come or not, is
 * emitted in pieces of `maxLine` (the last piece may be shorter), so neither the
 * splitter nor whoever keeps its lines holds an unbounded line.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  readonly #maxLine: number;
  #partial = '';

  constructor(onLine: (line: string) => void, maxLine = 64 * 1024) {
    this.#onLine = onLine;
    this.#maxLine = Math.max(1, maxLine);
  }

  write(chunk: Buffer): void {
    const text = this.#decoder.write(chunk);
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      const line = this.#partial.length > 0 ? this.#partial + text.slice(start, newline) : text.slice(start, newline);
      this.#partial = '';
      this.#emit(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) this.#partial += start === 0 ? text : text.slice(start);
    // An unfinished line never holds more than maxLine: its full pieces go now.
    if (this.#partial.length > this.#maxLine) {
      const whole = this.#partial.length - (this.#partial.length % this.#maxLine || this.#maxLine);
      this.#emit(this.#partial.slice(0, whole));
      this.#partial = this.#partial.slice(whole);
    }
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#emit(rest);
  }

  /** Emits `line`, in pieces of maxLine when it is longer. */
  #emit(line: string): void {
    if (line.length <= this.#maxLine) {
      this.#onLine(line);
      return;
    }
    for (let at = 0; at < line.length; at += this.#maxLine) this.#onLine(line.slice(at, at + this.#maxLine));
  }
}
