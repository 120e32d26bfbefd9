/** The copy throttle's arithmetic on a simulated clock: bytes per interval, never wall time. */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/util/rate-limit.js';

function fakeClock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => void (t += ms),
    advance: (ms: number) => void (t += ms),
    get t() {
      return t;
    },
  };
}

describe('RateLimiter', () => {
  it('lets at most rate × elapsed + one second of burst through, whatever the chunk sizes', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(1_000_000, clock);
    let passed = 0;
    const sizes = [300_000, 64_000, 1_500_000, 10, 700_000, 250_000, 2_000_000, 90_000];
    for (let round = 0; round < 5; round++) {
      for (const n of sizes) {
        await limiter.take(n);
        passed += n;
        expect(passed).toBeLessThanOrEqual(1_000_000 * (clock.t / 1000) + 1_000_000);
      }
    }
    // And it does not throttle below the rate: the time taken is what the bytes need, within one burst.
    expect(clock.t / 1000).toBeGreaterThanOrEqual(passed / 1_000_000 - 1);
    expect(clock.t / 1000).toBeLessThanOrEqual(passed / 1_000_000 + 0.01);
    expect(limiter.throttled()).toBe(true);
  });

  it('concurrent takers share the rate and are served in order', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(100_000, clock);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => limiter.take(100_000).then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
    // 400 kB at 100 kB/s, the first 100 kB from the initial bucket.
    expect(clock.t).toBe(3000);
  });

  it('an idle second refills the bucket, no more', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(1000, clock);
    await limiter.take(1000);
    clock.advance(5000);
    const before = clock.t;
    await limiter.take(1000);
    expect(clock.t).toBe(before);
    await limiter.take(1000);
    expect(clock.t).toBe(before + 1000);
  });
});

describe('copy.pauseWhen', () => {
  it('a hold pauses every taker until it clears; the reason is what the guard says', async () => {
    const clock = fakeClock();
    let reason: string | null = 'busy';
    const limiter = new RateLimiter(Infinity, clock, () => reason);
    let passed = false;
    const taking = limiter.take(10).then(() => (passed = true));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(passed).toBe(false);
    expect(limiter.pausedBy()).toBe('busy');
    reason = null;
    await taking;
    expect(passed).toBe(true);
  });

  it('names the limit that is exceeded', async () => {
    const { pauseReason } = await import('../../src/engines/postgres/source-guard.js');
    const limits = { sourceConnectionsAbove: 3, standbyLagAbove: 1024 * 1024 };
    expect(pauseReason(limits, { connections: 3, standbyLag: 1024 * 1024 })).toBeNull();
    expect(pauseReason(limits, { connections: 4, standbyLag: null })).toBe(
      '4 client connections on the source > 3 (copy.pauseWhen.sourceConnectionsAbove)',
    );
    expect(pauseReason(limits, { connections: 0, standbyLag: 2 * 1024 * 1024 })).toBe(
      'a standby of the source lags 2.0 MB > 1.0 MB (copy.pauseWhen.standbyLagAbove)',
    );
    expect(pauseReason({ sourceConnectionsAbove: null, standbyLagAbove: null }, { connections: 999, standbyLag: 1e12 })).toBeNull();
  });
});
