/**
 * A token bucket shared by every copy stream of a run (`copy.maxRate`): a chunk of n bytes may pass
 * once n tokens are there; tokens refill at `rate` per second up to one second's worth. The clock
 * and the sleep are parameters, so the arithmetic is unit-tested without waiting.
 */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();
  /** When a chunk last had to wait (ms since the epoch of the clock), for "throttled" in progress. */
  lastWaitAt = -Infinity;

  /**
   * `bytesPerSecond` may be Infinity (no rate, only `hold`); `hold` names a reason to pause every
   * stream (copy.pauseWhen), or returns null.
   */
  constructor(
    readonly bytesPerSecond: number,
    private readonly clock: Clock = realClock,
    private readonly hold: () => string | null = () => null,
  ) {
    this.tokens = bytesPerSecond;
    this.last = clock.now();
  }

  /** Why the copy is paused now (copy.pauseWhen), or null. */
  pausedBy(): string | null {
    return this.hold();
  }

  private refill(): void {
    const t = this.clock.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((t - this.last) / 1000) * this.bytesPerSecond);
    this.last = t;
  }

  /** Resolves when `n` bytes may pass; callers are served in order. */
  take(n: number): Promise<void> {
    const turn = this.queue.then(async () => {
      while (this.hold() !== null) await this.clock.sleep(250);
      if (!Number.isFinite(this.bytesPerSecond)) return;
      let need = n;
      // A chunk bigger than the bucket passes in bucket-sized steps.
      while (need > 0) {
        this.refill();
        const step = Math.min(need, this.bytesPerSecond);
        if (this.tokens < step) {
          this.lastWaitAt = this.clock.now();
          await this.clock.sleep(Math.ceil(((step - this.tokens) / this.bytesPerSecond) * 1000));
          continue;
        }
        this.tokens -= step;
        need -= step;
      }
    });
    this.queue = turn;
    return turn;
  }

  /** Whether a chunk waited within the last second. */
  throttled(): boolean {
    return this.clock.now() - this.lastWaitAt < 1000;
  }
}
