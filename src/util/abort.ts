/** Interruption by an AbortSignal (Ctrl-C, or the first failing step of a database). */
import { DbferryError } from './errors.js';

export function interrupted(): DbferryError {
  return new DbferryError('INTERRUPTED', 'interrupted; the migration is left resumable', {
    hint: 'Run `dbferry apply` again to resume, or `dbferry cancel` to clean up.',
  });
}

/** Rejects as soon as the signal aborts, so a task stuck in I/O stops waiting. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
