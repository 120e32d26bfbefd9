/** Test helpers: run the CLI in-process or as the real binary, write configs, query servers. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { run } from '../../src/cli/main.js';
import { DbferryError } from '../../src/util/errors.js';
import { probeFromEnv } from './probe.mjs';
import type { MariaServer, PgServer } from './servers.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** dbferry as tests run it: bin/dbferry.js plus the test probe (DBFERRY_CRASH_AT and friends). */
export const BIN = join(ROOT, 'test', 'setup', 'probed-dbferry.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the child process was killed by a signal (spawnCli only). */
  signal?: string | null;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
  /** Standard input for runCli (e.g. `import -`). */
  stdin?: string;
}

const BASE_ENV = (): Record<string, string | undefined> => ({ PATH: process.env.PATH, HOME: process.env.HOME, USER: 'tester', CI: 'true' });

/** Runs the CLI in this process with captured streams. */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: false },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: false },
    env: { ...BASE_ENV(), ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    probe: probeFromEnv(opts.env ?? {}, (message) => new DbferryError('MIGRATION_FAILED', message)),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.stdin !== undefined ? { readStdin: async () => opts.stdin as string } : {}),
  });
  return { code, stdout, stderr };
}

/** Runs the built binary (bin/dbferry.js) as a child process. */
export function spawnCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...BASE_ENV(), ...opts.env } as NodeJS.ProcessEnv, cwd: opts.cwd ?? process.cwd(), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        res({ code, stdout: String(stdout), stderr: String(stderr), signal: err?.signal ?? null });
      },
    );
  });
}

/** Starts the binary and returns the child, for signal tests. */
export function startCli(args: string[], opts: RunOptions = {}) {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...BASE_ENV(), ...opts.env } as NodeJS.ProcessEnv,
    cwd: opts.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh directory below the run's temporary root (removed when the run ends). */
export function tempDir(prefix = 'dbferry-test-'): string {
  return mkdtempSync(join(process.env.DBFERRY_TEST_TMP ?? tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

interface YamlOptions<S> {
  name: string;
  source: S;
  target: S;
  extra?: string;
  include?: string[];
}

/** A migration.yaml between two test servers (ssl off, no passwords: trust / root). */
function serversYaml(engine: 'postgresql' | 'mysql', o: YamlOptions<{ host: string; port: number; user: string }>): string {
  const block = (role: string, s: { host: string; port: number; user: string }) => [
    `${role}:`,
    `  host: ${s.host}`,
    `  port: ${s.port}`,
    `  username: ${s.user}`,
    '  ssl: disable',
  ];
  return [
    'version: 1',
    `name: ${o.name}`,
    ...(engine === 'mysql' ? ['engine: mysql'] : []),
    ...block('source', o.source),
    ...block('target', o.target),
    ...(o.include ? ['databases:', `  include: [${o.include.map((d) => JSON.stringify(d)).join(', ')}]`] : []),
    o.extra ?? '',
  ].join('\n');
}

export const pgYaml = (o: YamlOptions<PgServer>): string => serversYaml('postgresql', o);
export const mysqlYaml = (o: YamlOptions<MariaServer>): string => serversYaml('mysql', o);

/** Resolves once the child's stderr contains `text` (fails if it exits or 60 s pass first). */
export async function waitForStderr(child: ReturnType<typeof startCli>, text: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!stderr.includes(text)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never printed "${text}":\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function pgQuery<T extends pg.QueryResultRow = Record<string, unknown>>(
  s: PgServer,
  sql: string,
  db = 'postgres',
  params: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ host: s.host, port: s.port, user: s.user, database: db });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export async function myQuery<T = Record<string, unknown>>(s: MariaServer, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, multipleStatements: true });
  try {
    const [r] = await c.query(sql, params);
    return r as T[];
  } finally {
    await c.end();
  }
}
