/** Benchmarks compare against other tools: install one from Debian's packages if it is missing. */
import { execFileSync } from 'node:child_process';

/** True when `command` runs (after installing `pkg` with apt-get if it did not). */
export function ensureDebianTool(command: string, pkg: string = command): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    try {
      execFileSync('bash', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], {
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  }
}
