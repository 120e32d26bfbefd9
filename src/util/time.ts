/** Time helpers used across the code base (one definition each). */
import { DbferryError } from './errors.js';

export const now = (): string => new Date().toISOString();

/** Waits `ms`; rejects as an interruption as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const interrupted = (): void => {
      clearTimeout(timer);
      reject(new DbferryError('INTERRUPTED', 'interrupted; run the command again'));
    };
    if (signal?.aborted) return interrupted();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', interrupted);
      resolve();
    }, ms);
    signal?.addEventListener('abort', interrupted, { once: true });
  });
}
