/**
 * Redrawing a block of text in place on a terminal (`status --watch`): each frame erases the
 * lines the previous one took, so the screen shows one current frame and the scrollback is left
 * as it was. Off a terminal, frames are simply written one after another.
 */
import type { Stream } from './io.js';

// Terminal escape sequences (ESC [ ... letter) take no columns.
// oxlint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** How many terminal rows `text` occupies once printed, with lines wrapped at `columns`. */
export function rowsOf(text: string, columns: number): number {
  const lines = text.replace(ANSI, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.reduce((n, line) => n + Math.max(1, Math.ceil([...line].length / Math.max(1, columns))), 0);
}

export class Redrawer {
  private previousRows = 0;

  constructor(private readonly stream: Stream) {}

  draw(frame: string): void {
    const text = frame.endsWith('\n') ? frame : `${frame}\n`;
    if (!this.stream.isTTY) {
      this.stream.write(text);
      return;
    }
    // Cursor to the start of the previous frame's first row, then erase to the end of the screen.
    const erase = this.previousRows > 0 ? `\r\u001b[${this.previousRows}A\u001b[0J` : '';
    this.stream.write(erase + text);
    this.previousRows = rowsOf(text, this.stream.columns ?? 80);
  }
}
