/** Deterministic randomness for the reliability suite: the same seed picks the same cases on every run. */

/** mulberry32: a small, well-known 32-bit PRNG. Returns numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` distinct items of `from`, drawn by the seeded generator. */
export function seededPick<T>(from: readonly T[], n: number, seed: number): T[] {
  const rnd = prng(seed);
  const pool = [...from];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0] as T);
  return out;
}
