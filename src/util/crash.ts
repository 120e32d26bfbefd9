/**
 * Fault injection for the reliability tests: when DBFERRY_CRASH_AT names this point, the process
 * kills itself with SIGKILL right here, exactly as `kill -9` would. Inert otherwise.
 */
import { existsSync } from 'node:fs';
import { DbferryError } from './errors.js';

export function crashPoint(env: Readonly<Record<string, string | undefined>>, name: string): void {
  if (env.DBFERRY_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * Pause point for the signal and concurrency tests: when DBFERRY_PAUSE_AT names this point, the
 * run reports that it is paused and waits here until it is interrupted.
 */
export async function pausePoint(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  report: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  if (env.DBFERRY_PAUSE_AT !== name) return;
  report(`paused at ${name} (DBFERRY_PAUSE_AT)`);
  await new Promise<void>((resolve) => {
    if (!signal || signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
    // With DBFERRY_RESUME_FILE, the run goes on once the test has created that file.
    const resumeFile = env.DBFERRY_RESUME_FILE;
    if (resumeFile) {
      const timer = setInterval(() => {
        if (existsSync(resumeFile) || signal.aborted) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
    }
  });
  signal?.throwIfAborted();
}

/**
 * Failure point for the state tests: when DBFERRY_FAIL_AT names this point, the run fails here
 * with an ordinary migration error, as a server refusing a statement would make it fail.
 */
export function failPoint(env: Readonly<Record<string, string | undefined>>, name: string): void {
  if (env.DBFERRY_FAIL_AT === name) throw new DbferryError('MIGRATION_FAILED', `injected failure at ${name} (DBFERRY_FAIL_AT)`);
}
