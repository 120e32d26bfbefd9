/**
 * The CLI's window on the world: streams, environment, styling, and redaction of everything it
 * writes. Commands receive a Cli and never touch process.* directly.
 */
import type { Probe } from '../util/probe.js';
import { formatLogEvent, type LogEvent, type LogFields } from '../util/log-event.js';
import { redact } from '../util/redact.js';
import { COLOR, PLAIN, type Style } from '../util/style.js';

export interface Stream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal size, when the stream is a terminal. */
  columns?: number;
  rows?: number;
}

export interface CliIo {
  stdout: Stream;
  stderr: Stream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Interactive input for confirmations; absent when not a terminal. */
  confirm?: (question: string) => Promise<boolean>;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
  /** All of standard input (`import -`). */
  readStdin?: () => Promise<string>;
  /** Test hooks (crash, pause and failure points) given by the reliability tests' launcher. */
  probe?: Probe;
}

export type RendererName = 'default' | 'simple' | 'verbose';

export interface GlobalOptions {
  json: boolean;
  /** GitHub Actions workflow-command annotations for diagnostics (--format github, or GITHUB_ACTIONS=true). */
  github?: boolean;
  /** json: every message and progress event is one JSON object per line on stderr. */
  logFormat?: 'text' | 'json';
  quiet: boolean;
  verbose: boolean;
  color: boolean;
  renderer: RendererName | undefined;
}

export class Cli {
  readonly style: Style;
  readonly stderrStyle: Style;

  constructor(
    readonly io: CliIo,
    readonly opts: GlobalOptions,
  ) {
    const noColor = !opts.color || (io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') || io.env.TERM === 'dumb';
    this.style = !noColor && io.stdout.isTTY && !opts.json ? COLOR : PLAIN;
    this.stderrStyle = !noColor && io.stderr.isTTY ? COLOR : PLAIN;
  }

  get colorEnabled(): boolean {
    return this.stderrStyle === COLOR;
  }

  /** Result output (stdout). */
  out(text: string): void {
    this.io.stdout.write(redact(text));
  }

  /** Machine output: one JSON document on stdout. */
  json(value: unknown): void {
    this.io.stdout.write(redact(JSON.stringify(value, null, 2)) + '\n');
  }

  /** The migration the command works on, for structured log events. */
  migration: string | undefined;
  /** Run when the command ends, whatever its outcome (SSH tunnels). */
  readonly cleanups: (() => Promise<void>)[] = [];

  get jsonLogs(): boolean {
    return this.opts.logFormat === 'json';
  }

  /** One structured event on stderr (with --log-format json; nothing otherwise). */
  log(e: LogFields): void {
    if (!this.jsonLogs) return;
    const { level = 'info', event, message, ...rest } = e;
    const ev: LogEvent = {
      ts: new Date().toISOString(),
      level,
      event,
      message,
      ...(this.migration ? { migration: this.migration } : {}),
      ...rest,
    };
    this.io.stderr.write(formatLogEvent(ev));
  }

  /** Human messages and progress (stderr), silenced by --quiet. */
  info(text: string): void {
    if (this.jsonLogs) return this.log({ event: 'message', message: text.replace(/\n$/, '') });
    if (!this.opts.quiet) this.io.stderr.write(redact(text.endsWith('\n') ? text : text + '\n'));
  }

  warn(text: string): void {
    if (this.jsonLogs) return this.log({ level: 'warn', event: 'message', message: text });
    this.io.stderr.write(redact(`${this.stderrStyle.yellow('Warning:')} ${text}\n`));
  }

  error(text: string): void {
    if (this.jsonLogs) return this.log({ level: 'error', event: 'message', message: text });
    this.io.stderr.write(redact(`${this.stderrStyle.red('Error:')} ${text}\n`));
  }

  /** Whether diagnostics are also written as GitHub Actions annotations. */
  get annotating(): boolean {
    return this.opts.github === true || this.io.env.GITHUB_ACTIONS === 'true';
  }

  /**
   * A diagnostic as a GitHub Actions workflow command on stdout (`::error file=…,line=…,col=…::…`),
   * so a pull request shows it on the line of migration.yaml it is about.
   */
  annotate(d: { file?: string; line?: number; col?: number; severity: 'error' | 'warning'; message: string }): void {
    if (!this.annotating) return;
    const esc = (v: string, prop: boolean) => {
      const t = v.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
      return prop ? t.replace(/:/g, '%3A').replace(/,/g, '%2C') : t;
    };
    const props = [d.file ? `file=${esc(d.file, true)}` : '', d.line ? `line=${d.line}` : '', d.col ? `col=${d.col}` : '']
      .filter(Boolean)
      .join(',');
    this.io.stdout.write(redact(`::${d.severity}${props ? ` ${props}` : ''}::${esc(d.message, false)}\n`));
  }

  verbose(text: string): void {
    if (this.opts.verbose) this.io.stderr.write(redact(text.endsWith('\n') ? text : text + '\n'));
  }

  /** Where human-readable results go: stdout normally, stderr when --json owns stdout. */
  human(text: string): void {
    if (this.opts.json) this.info(text);
    else this.out(text);
  }
}

/** Listr2 renderer: explicit flag, else default on a TTY outside CI, simple/verbose otherwise. */
export function chooseRenderer(
  opts: GlobalOptions,
  stderrIsTTY: boolean,
  env: Record<string, string | undefined>,
): 'default' | 'simple' | 'verbose' | 'silent' {
  if (opts.quiet) return 'silent';
  if (opts.renderer) return opts.renderer;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  if (stderrIsTTY && !ci) return 'default';
  return opts.verbose ? 'verbose' : 'simple';
}

/**
 * The stream Listr2's renderers write progress to: everything redacted, then passed to the CLI's
 * stderr. Listr2's default renderer takes over a stream by assigning its `write` and copies its
 * own properties (isTTY, columns, rows) for log-update, so all of them are plain own properties.
 */
export class ProgressStream {
  isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;
  write: (chunk: unknown, ...rest: unknown[]) => boolean;

  constructor(target: Stream) {
    this.isTTY = target.isTTY === true;
    this.columns = target.columns;
    this.rows = target.rows;
    this.write = (chunk: unknown, ...rest: unknown[]): boolean => {
      target.write(redact(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)));
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  }
}
