/** Finding PostgreSQL client programs (pg_dump) of a suitable major version. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FoundTool {
  path: string;
  major: number;
  version: string;
}

/** Candidates: --pgbin, /usr/lib/postgresql/<major>/bin (oldest first), then PATH. */
export function toolCandidates(name: string, env: Readonly<Record<string, string | undefined>>, pgbin?: string): string[] {
  const out: string[] = [];
  if (pgbin) out.push(join(pgbin, name));
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(a) - Number(b));
    for (const m of majors) out.push(join(root, m, 'bin', name));
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir) out.push(join(dir, name));
  return [...new Set(out)].filter((p) => existsSync(p));
}

export function parseToolVersion(text: string): { major: number; version: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), version: m[2] !== undefined ? `${m[1]}.${m[2]}` : String(m[1]) };
}

/** The best tool: the lowest major >= minMajor (closest to the server), else the newest found. */
export async function findTool(
  name: string,
  minMajor: number,
  env: Readonly<Record<string, string | undefined>>,
  pgbin?: string,
): Promise<{ best: FoundTool | undefined; found: FoundTool[] }> {
  const found: FoundTool[] = [];
  for (const path of toolCandidates(name, env, pgbin)) {
    const dirMajor = /\/usr\/lib\/postgresql\/(\d+)\/bin\//.exec(path);
    if (dirMajor && Number(dirMajor[1]) < minMajor) continue;
    try {
      const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
      const v = parseToolVersion(stdout);
      if (v) found.push({ path, ...v });
      // The first suitable one from --pgbin or the versioned directories (oldest first) is the
      // closest match: no need to run the others.
      const preferred = path.startsWith('/usr/lib/postgresql/') || (pgbin !== undefined && path.startsWith(pgbin));
      if (v && v.major >= minMajor && preferred) break;
    } catch {
      /* not runnable */
    }
  }
  const ok = found.filter((f) => f.major >= minMajor).sort((a, b) => a.major - b.major);
  return { best: ok[0], found };
}
