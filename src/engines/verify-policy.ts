/**
 * Which verify each table gets, for both engines. Pure.
 * - counts: row counts only;
 * - full: row counts and a checksum of every row;
 * - sample: a checksum of the rows in 32 key ranges spread over the key's span, covering about
 *   `verifySampleAbove` bytes of the table (tables above that size with an integer primary key,
 *   under verify: auto); row counts still cover the whole table.
 */
import type { VerifyMode } from '../config/types.js';

export type TableVerify = 'none' | 'counts' | 'full' | 'sample';

export function tableVerify(mode: VerifyMode, table: { bytes: number; intKey: string | null }, sampleAbove: number): TableVerify {
  if (mode === 'none' || mode === 'counts' || mode === 'checksums') return mode === 'checksums' ? 'full' : mode;
  return table.bytes > sampleAbove && table.intKey !== null ? 'sample' : 'full';
}

export interface KeySpan {
  from: bigint;
  /** Exclusive. */
  to: bigint;
}

export const SAMPLE_RANGES = 32;

/** `count` ranges spread evenly over [lo, hi], together about `fraction` of the span. */
export function sampleRanges(lo: bigint, hi: bigint, fraction: number, count = SAMPLE_RANGES): KeySpan[] {
  const span = hi - lo + 1n;
  if (span <= 0n) return [];
  const f = Math.min(1, Math.max(0, fraction));
  // Scaled to millionths so bigint arithmetic keeps 64-bit keys exact.
  const covered = (span * BigInt(Math.round(f * 1_000_000))) / 1_000_000n;
  const width = covered / BigInt(count) > 0n ? covered / BigInt(count) : 1n;
  const step = span / BigInt(count) > 0n ? span / BigInt(count) : 1n;
  const out: KeySpan[] = [];
  for (let i = 0n; i < BigInt(count); i++) {
    const from = lo + i * step;
    if (from > hi) break;
    const to = from + (width < step ? width : step);
    out.push({ from, to: to > hi + 1n ? hi + 1n : to });
  }
  return out;
}

/** `key >= a AND key < b OR ...` for the ranges, with the key already quoted. */
export function rangesCondition(quotedKey: string, ranges: KeySpan[]): string {
  return ranges.map((r) => `(${quotedKey} >= ${r.from} AND ${quotedKey} < ${r.to})`).join(' OR ') || 'false';
}
