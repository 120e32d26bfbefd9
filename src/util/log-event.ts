/**
 * Structured log events (`--log-format json`): one JSON object per line on stderr. The schema is
 * stable: ts, level, event, message, and where known migration, database, table and figures.
 */
import { redact } from './redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEvent {
  /** ISO 8601 time. */
  ts: string;
  level: LogLevel;
  /** What happened: message, diagnostic, task.started, task.completed, task.failed, progress, result. */
  event: string;
  message: string;
  migration?: string;
  database?: string;
  table?: string;
  /** Numbers of the event (tablesDone, bytesCopied, ...). */
  figures?: Record<string, number>;
  /** Other fields of the event (a diagnostic's file, line, col; a result's state). */
  [field: string]: unknown;
}

/** What a caller gives: the time and, by default, the level are added. */
export interface LogFields {
  event: string;
  message: string;
  level?: LogLevel;
  database?: string;
  table?: string;
  figures?: Record<string, number>;
  [field: string]: unknown;
}

/** The event as one line of JSON, its strings redacted. */
export function formatLogEvent(e: LogEvent): string {
  return redact(JSON.stringify(e)) + '\n';
}
