/**
 * Typed errors. Every error dbferry raises on purpose is a DbferryError carrying a stable code,
 * the exit code the CLI maps it to, and a hint that tells the user how to fix it.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'FILE_NOT_FOUND'
  | 'CONNECTION_FAILED'
  | 'AUTH_FAILED'
  | 'DATABASE_NOT_FOUND'
  | 'SSL_FAILED'
  | 'CHECK_FAILED'
  | 'MIGRATION_FAILED'
  | 'STALE_PLAN'
  | 'LOCKED'
  | 'STATE_CONFLICT'
  | 'NOT_FOUND'
  | 'INTERRUPTED'
  | 'TOOL_MISSING'
  | 'CHILD_PROCESS_FAILED';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  message: string;
}

const EXIT_CODES: Record<ErrorCode, 1 | 2 | 130> = {
  CONFIG_INVALID: 2,
  USAGE: 2,
  FILE_NOT_FOUND: 2,
  CONNECTION_FAILED: 2,
  AUTH_FAILED: 2,
  DATABASE_NOT_FOUND: 2,
  SSL_FAILED: 2,
  CHECK_FAILED: 1,
  MIGRATION_FAILED: 1,
  STALE_PLAN: 2,
  LOCKED: 1,
  STATE_CONFLICT: 2,
  NOT_FOUND: 1,
  INTERRUPTED: 130,
  TOOL_MISSING: 1,
  CHILD_PROCESS_FAILED: 1,
};

export class DbferryError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly diagnostics: readonly Diagnostic[];

  constructor(code: ErrorCode, message: string, opts: { hint?: string; diagnostics?: Diagnostic[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'DbferryError';
    this.code = code;
    this.hint = opts.hint;
    this.diagnostics = opts.diagnostics ?? [];
  }

  get exitCode(): 1 | 2 | 130 {
    return EXIT_CODES[this.code];
  }
}

export function isDbferryError(e: unknown): e is DbferryError {
  return e instanceof DbferryError;
}

/** A short message for any thrown value, without stack. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
