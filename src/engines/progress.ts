/** The copy's progress line, the same for both engines: tables, bytes, rate and ETA. Pure. */
import { formatBytes, formatDuration } from '../util/sizes.js';

export interface CopyProgress {
  tablesDone: number;
  tablesTotal: number;
  bytesCopied: number;
  /** The source's size estimate of what is being copied. */
  bytesTotal: number;
  /** Seconds since the copy started. */
  elapsed: number;
  /** copy.maxRate in bytes per second when the throttle held the copy back in the last second, else 0. */
  throttledTo?: number;
  /** 1 while copy.pauseWhen holds the copy. */
  paused?: number;
}

/** A progress line's text beyond its figures: why the copy is paused. */
export interface CopyProgressNote {
  pausedBy?: string | null;
}

export function copyProgressLine(p: CopyProgress, note: CopyProgressNote = {}): string {
  const rate = p.bytesCopied / Math.max(0.001, p.elapsed);
  const eta = rate > 0 ? Math.max(0, (p.bytesTotal - p.bytesCopied) / rate) : 0;
  const throttled = note.pausedBy
    ? ` (paused: ${note.pausedBy})`
    : p.throttledTo && Number.isFinite(p.throttledTo)
      ? ` (throttled to ${formatBytes(p.throttledTo)}/s by copy.maxRate)`
      : '';
  return `copying: ${p.tablesDone}/${p.tablesTotal} tables, ${formatBytes(p.bytesCopied)}/${formatBytes(p.bytesTotal)}, ${formatBytes(rate)}/s${throttled}, ETA ${formatDuration(eta)}`;
}
