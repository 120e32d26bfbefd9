/**
 * A real terminal for the CLI: a tmux pane on a private tmux server (its own socket), so a command
 * runs with a TTY on stdin, stdout and stderr exactly as a person's shell gives it. Tests type into
 * it (send-keys) and read the screen (capture-pane). Waits are for screen content, never for time.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './cli.js';

const run = promisify(execFile);

export interface TerminalOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  columns?: number;
  rows?: number;
}

export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly exitFile: string,
  ) {}

  /** Starts `command` (a shell command line) in a new terminal. */
  static async start(command: string, opts: TerminalOptions): Promise<Terminal> {
    const dir = tempDir('dbferry-tty-');
    const term = new Terminal(join(dir, 'tmux.sock'), join(dir, 'exit-code'));
    const env = { TERM: 'xterm-256color', LANG: 'C.UTF-8', ...opts.env };
    const exports = Object.entries(env)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => `export ${k}=${shellQuote(v)};`)
      .join(' ');
    // The exit code goes to a file; the pane then stays open so its last screen can be read.
    const script = `${exports} unset CI GITHUB_ACTIONS; ${command}; echo $? > ${shellQuote(term.exitFile)}; exec sleep 3600`;
    await term.tmux(
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      'dbferry',
      '-x',
      String(opts.columns ?? 160),
      '-y',
      String(opts.rows ?? 50),
      '-c',
      opts.cwd,
      'bash',
      '--norc',
      '--noprofile',
      '-c',
      script,
    );
    await term.tmux('set-option', '-t', 'dbferry', 'history-limit', '20000');
    // As in xterm: erasing the screen from its top-left corner does not push it into the scrollback.
    await term.tmux('set-option', '-w', '-t', 'dbferry', 'scroll-on-clear', 'off');
    return term;
  }

  private async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-S', this.socket, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    return stdout;
  }

  /** Everything the terminal shows and has scrolled off, as text (wrapped lines joined). */
  async screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'dbferry');
  }

  /** What the terminal shows now (without the scrollback). */
  async visible(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-J', '-t', 'dbferry');
  }

  /** Types text literally, then Enter. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'dbferry', '-l', text);
    await this.tmux('send-keys', '-t', 'dbferry', 'Enter');
  }

  /** Presses Ctrl-C. */
  async interrupt(): Promise<void> {
    await this.tmux('send-keys', '-t', 'dbferry', 'C-c');
  }

  /** Resolves with the screen once it matches; fails with the screen after `timeoutMs`. */
  async waitFor(pattern: string | RegExp, timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.screen();
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return text;
      if (this.exitCode() !== null && !(typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text))) {
        throw new Error(`the command ended (exit ${this.exitCode()}) without showing ${String(pattern)}; screen:\n${text}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  exitCode(): number | null {
    if (!existsSync(this.exitFile)) return null;
    const text = readFileSync(this.exitFile, 'utf8').trim();
    return text === '' ? null : Number(text);
  }

  /** Waits for the command to end; returns its exit code and final screen. */
  async finished(timeoutMs = 300_000): Promise<{ code: number; screen: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.exitCode() === null) {
      if (Date.now() > deadline) throw new Error(`the command did not end in ${timeoutMs} ms; screen:\n${await this.screen()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { code: this.exitCode() as number, screen: await this.screen() };
  }

  async close(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
