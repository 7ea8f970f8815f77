import { StringDecoder } from 'node:string_decoder';

/**
 * Turns a byte stream into lines: chunks may end mid-line and mid-character, so the
 * unfinished tail is held until the next chunk (or `end`). A line longer than
 * `maxLine` is emitted in pieces rather than held without bound.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  readonly #maxLine: number;
  #partial = '';

  constructor(onLine: (line: string) => void, maxLine = 64 * 1024) {
    this.#onLine = onLine;
    this.#maxLine = maxLine;
  }

  write(chunk: Buffer): void {
    let text = this.#partial + this.#decoder.write(chunk);
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.#onLine(text.slice(0, newline).replace(/\r$/, ''));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (text.length > this.#maxLine) {
      this.#onLine(text.slice(0, this.#maxLine));
      text = text.slice(this.#maxLine);
    }
    this.#partial = text;
  }

  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.#onLine(rest);
  }
}
