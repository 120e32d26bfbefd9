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

/** Candidates: --pgbin, PATH, /usr/lib/postgresql/<major>/bin (newest first). */
export function toolCandidates(name: string, env: Readonly<Record<string, string | undefined>>, pgbin?: string): string[] {
  const out: string[] = [];
  if (pgbin) out.push(join(pgbin, name));
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir) out.push(join(dir, name));
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) out.push(join(root, m, 'bin', name));
  }
  return [...new Set(out)].filter((p) => existsSync(p));
}

export function parseToolVersion(text: string): { major: number; version: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  return { major: Number(m[1]), version: m[2] !== undefined ? `${m[1]}.${m[2]}` : String(m[1]) };
}

/** The best tool: the lowest major >= minMajor (closest to the server), else the newest found. */
export async function findTool(name: string, minMajor: number, env: Readonly<Record<string, string | undefined>>, pgbin?: string): Promise<{ best: FoundTool | undefined; found: FoundTool[] }> {
  const found: FoundTool[] = [];
  for (const path of toolCandidates(name, env, pgbin)) {
    try {
      const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
      const v = parseToolVersion(stdout);
      if (v) found.push({ path, ...v });
    } catch {
      /* not runnable */
    }
  }
  const ok = found.filter((f) => f.major >= minMajor).sort((a, b) => a.major - b.major);
  return { best: ok[0], found };
}
