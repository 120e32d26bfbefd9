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

/**
 * A database copy's counters, reported at most twice a second (with the throttle's state) and
 * saved to the database's record at most every two seconds. Both engines count through it.
 */
export class CopyCounter {
  completed = 0;
  copied = 0;
  loading = 0;
  private readonly started = Date.now();
  private lastReport = 0;
  private lastSave = Date.now();

  constructor(
    readonly tables: number,
    readonly total: number,
    private readonly out: {
      report(line: string, figures?: Record<string, number>): void;
      limiter?: { throttled(): boolean; bytesPerSecond: number; pausedBy(): string | null } | undefined;
      save?: (patch: { bytesCopied: number; tablesCompleted: number; tablesLoading: number; tablesQueued: number }) => Promise<void>;
    },
  ) {}

  progress(force = false): void {
    const t = Date.now();
    if (!force && t - this.lastReport < 500) return;
    this.lastReport = t;
    const limiter = this.out.limiter;
    const figures = {
      tablesDone: this.completed,
      tablesTotal: this.tables,
      bytesCopied: this.copied,
      bytesTotal: Math.max(this.total, this.copied),
      elapsed: (t - this.started) / 1000,
      throttledTo: limiter?.throttled() && Number.isFinite(limiter.bytesPerSecond) ? limiter.bytesPerSecond : 0,
      paused: limiter?.pausedBy() ? 1 : 0,
    };
    this.out.report(copyProgressLine(figures, { pausedBy: limiter?.pausedBy() ?? null }), figures);
    if (this.out.save && t - this.lastSave > 2000) {
      this.lastSave = t;
      void this.out
        .save({
          bytesCopied: Math.min(this.copied, this.total),
          tablesCompleted: this.completed,
          tablesLoading: this.loading,
          tablesQueued: this.tables - this.completed - this.loading,
        })
        .catch(() => undefined);
    }
  }
}
