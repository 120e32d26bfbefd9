// The reliability tests' probe, armed from environment variables (the real binary never reads them):
//   DBFERRY_CRASH_AT=point   SIGKILL at that point, exactly as `kill -9` would
//   DBFERRY_PAUSE_AT=point   report "paused at point" and wait until interrupted, or until
//   DBFERRY_RESUME_FILE      exists
//   DBFERRY_FAIL_AT=point    fail there with an ordinary migration error (built by `failure`)
import { existsSync } from 'node:fs';

function waitForResume(signal, resumeFile) {
  return new Promise((resolve) => {
    if (!signal || signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
    if (!resumeFile) return;
    const timer = setInterval(() => {
      if (existsSync(resumeFile) || signal.aborted) {
        clearInterval(timer);
        resolve();
      }
    }, 100);
  });
}

/**
 * @param {Record<string, string | undefined>} env
 * @param {(message: string) => Error} failure
 */
export function probeFromEnv(env, failure) {
  const watched = new Set([env.DBFERRY_CRASH_AT, env.DBFERRY_PAUSE_AT, env.DBFERRY_FAIL_AT].filter(Boolean));
  return {
    watches: (point) => watched.has(point),
    async at(point, io = {}) {
      if (env.DBFERRY_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
      if (env.DBFERRY_FAIL_AT === point) throw failure(`injected failure at ${point} (DBFERRY_FAIL_AT)`);
      if (env.DBFERRY_PAUSE_AT === point) {
        io.report?.(`paused at ${point} (DBFERRY_PAUSE_AT)`);
        await waitForResume(io.signal, env.DBFERRY_RESUME_FILE);
        io.signal?.throwIfAborted();
      }
    },
  };
}
