/** The last `maxChars` characters written, for a process result's stdoutTail and stderrTail. */
export class TailBuffer {
  readonly #maxChars: number;
  #text = '';

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** Appends a line (with its newline). */
  line(line: string): void {
    this.#text += `${line}\n`;
    // Trim now and then, not on every line, so a chatty process costs O(1) per line.
    if (this.#text.length > this.#maxChars * 2) this.#text = this.#text.slice(-this.#maxChars);
  }

  toString(): string {
    return this.#text.length > this.#maxChars ? this.#text.slice(-this.#maxChars) : this.#text;
  }
}
