/**
 * Online migration under load: `npm run bench -- online [--scale=10] [--rate=500]`. pgbench writes
 * to the source at a fixed rate during the copy and replication; reports the copy time, the
 * steady-state lag (sampled every 250 ms for 10 s), and how long writes had to be paused at cutover,
 * including the comparison (and, if changed, re-copy) of the key-less pgbench_history.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BIN } from '../test/setup/cli.js';
import { startPostgres, stopPostgres } from '../test/setup/servers.js';
import { formatBytes } from '../src/util/sizes.js';

const PGBIN = '/usr/lib/postgresql/15/bin';

export async function benchOnline(args: string[]): Promise<string> {
  const arg = (k: string, d: number) => Number(args.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d);
  const scale = arg('scale', 10);
  const rate = arg('rate', 500);
  const [source, target] = await Promise.all([startPostgres({ major: 15 }), startPostgres({ major: 17 })]);
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-bench-online-'));
  let load: ReturnType<typeof spawn> | undefined;
  try {
    const c = new pg.Client({ host: source.host, port: source.port, user: 'postgres', database: 'postgres' });
    await c.connect();
    await c.query('CREATE DATABASE onl');
    execFileSync(
      join(PGBIN, 'pgbench'),
      ['-i', '-q', '-s', String(scale), '-h', source.host, '-p', String(source.port), '-U', 'postgres', 'onl'],
      { stdio: 'ignore' },
    );
    const file = join(dir, 'migration.yaml');
    writeFileSync(
      file,
      `name: bench-online\nmode: online\nmethod: replication\nsource:\n  uri: postgres://postgres@127.0.0.1:${source.port}/postgres?sslmode=disable\ntarget:\n  uri: postgres://postgres@127.0.0.1:${target.port}/postgres?sslmode=disable\ndatabases:\n  include: [onl]\nroles:\n  migrate: false\nreplication:\n  maxLag: 1MB\ncopy:\n  jobs: 2\n`,
    );
    // A fixed load during the copy, the replication and up to the cutover.
    load = spawn(
      join(PGBIN, 'pgbench'),
      ['-n', '-c', '4', '-j', '2', '-T', '600', '-R', String(rate), '-h', source.host, '-p', String(source.port), '-U', 'postgres', 'onl'],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    const applied = spawnSync(process.execPath, [BIN, 'apply', file, '--yes', '--quiet'], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', PATH: `${PGBIN}:${process.env.PATH}` },
    });
    const copySeconds = (Date.now() - t0) / 1000;
    if (applied.status !== 0) throw new Error(`apply failed: ${applied.stderr}`);
    const lags: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await c.query<{ lag: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name LIKE 'dbferry\\_%'`,
      );
      lags.push(Number(r.rows[0]?.lag ?? 0));
      await new Promise((res) => setTimeout(res, 250));
    }
    const tps = rate;
    load.kill('SIGINT');
    await new Promise((r) => load?.on('exit', r));
    load = undefined;
    const t1 = Date.now();
    const cut = spawnSync(process.execPath, [BIN, 'cutover', file], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
    const cutoverSeconds = (Date.now() - t1) / 1000;
    if (cut.status !== 0) throw new Error(`cutover failed: ${cut.stderr}`);
    const paused = /writes had to be paused for ([\d.]+(?:ms|s))/.exec(cut.stdout)?.[1] ?? '?';
    // pgbench_history has no key: replicated by its inserts, compared (and re-copied if changed) at cutover.
    const keyless = /(re-copied [^;]*|unchanged, not re-copied: [^;]*)/.exec(cut.stdout)?.[1] ?? '?';
    await c.end();
    const sorted = [...lags].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    const max = sorted[sorted.length - 1] ?? 0;
    const size = execFileSync(
      'psql',
      ['-h', source.host, '-p', String(source.port), '-U', 'postgres', '-tAc', "SELECT pg_size_pretty(pg_database_size('onl'))"],
      { encoding: 'utf8' },
    ).trim();
    return [
      '| measure | value |',
      '|---|---|',
      `| data | pgbench scale ${scale} (${size}), PostgreSQL 15 -> 17 |`,
      `| load during copy and replication | pgbench -c 4 -R ${tps} (TPC-B-like, ${tps} tx/s) |`,
      `| apply (check, copy on the slot's snapshot, indexes, subscription) | ${copySeconds.toFixed(1)} s |`,
      `| steady-state lag under load (40 samples, 10 s) | median ${formatBytes(median)}, max ${formatBytes(max)} |`,
      `| cutover command (after writes stopped) | ${cutoverSeconds.toFixed(2)} s |`,
      `| writes paused until the target was consistent and verified (dbferry's measure, includes the key-less table check) | ${paused} |`,
      `| pgbench_history (no key) at cutover | ${keyless} |`,
    ].join('\n');
  } finally {
    load?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([stopPostgres(source), stopPostgres(target)]);
  }
}
