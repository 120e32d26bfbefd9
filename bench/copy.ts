/**
 * Offline copy speed: dbferry apply against pg_dump -Fc | pg_restore, pg_dump -Fd -j | pg_restore -j
 * and pgcopydb clone, on the same data, same machine, in one run. Cases: pgbench (scale from
 * --scale, default 50), 1,000 small tables, wide rows. Source and target: embedded PostgreSQL 15
 * (the machine's pg_dump is 15). Prints seconds, MB/s, dbferry's peak RSS, its speed-up, and the CPU
 * seconds each run cost the source's server processes, the target's and the tool's own processes.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, pgQuery } from '../test/setup/cli.js';
import { ensureDebianTool } from './debian-tool.js';
import { startPostgres, stopPostgres, type PgServer } from '../test/setup/servers.js';

export const PGBIN = '/usr/lib/postgresql/15/bin';

export interface Timed {
  seconds: number;
  peakRssMb: number | null;
  /** CPU seconds spent during the run by each side's server processes and by the tool (all its processes). */
  cpu: { source: number; target: number; tool: number };
}

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime (+ cutime + cstime: children already reaped) of a process, in seconds. */
function cpuOf(pid: number | 'self', withSelf: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /s, '')
    .split(' ')
    .map(Number);
  // After the ") ", fields start at the 3rd of proc(5): utime is the 14th, so index 11.
  const [ut = 0, st = 0, cut = 0, cst = 0] = fields.slice(11, 15);
  return ((withSelf ? ut + st : 0) + cut + cst) / TICKS;
}

/** A cluster's CPU: its postmaster and the backends it has reaped (ended connections, autovacuum workers). */
function clusterCpu(s: PgServer): number {
  const pid = Number(readFileSync(join(s.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return cpuOf(pid, true);
}

export interface Servers {
  source: PgServer;
  target: PgServer;
}

/** Runs a shell pipeline (or a command) and times it; samples VmHWM of the first process. */
export function timed(
  servers: Servers,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  trackRss = false,
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const before = { source: clusterCpu(servers.source), target: clusterCpu(servers.target), tool: cpuOf('self', false) };
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let peak = 0;
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = trackRss
      ? setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) peak = Math.max(peak, Number(m[1]) / 1024);
          } catch {
            /* exited */
          }
        }, 50)
      : undefined;
    child.on('close', (code) => {
      if (timer) clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      // Backends end a moment after their client: give the postmasters time to reap them.
      setTimeout(() => {
        const cpu = {
          source: clusterCpu(servers.source) - before.source,
          target: clusterCpu(servers.target) - before.target,
          tool: cpuOf('self', false) - before.tool,
        };
        if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err.slice(-2000)}`));
        else resolve({ seconds, peakRssMb: trackRss ? peak : null, cpu });
      }, 300);
    });
  });
}

interface Case {
  name: string;
  build(s: PgServer, db: string): Promise<void>;
}

export function cases(scale: number): Case[] {
  return [
    {
      name: `pgbench scale ${scale}`,
      build: async (s, db) => {
        execFileSync(join(PGBIN, 'pgbench'), ['-i', '-q', '-s', String(scale), '-h', s.host, '-p', String(s.port), '-U', s.user, db], {
          stdio: 'ignore',
        });
      },
    },
    {
      name: '1,000 small tables',
      build: async (s, db) => {
        const parts: string[] = [];
        for (let i = 0; i < 1000; i++)
          parts.push(
            `CREATE TABLE t${i} (id int PRIMARY KEY, v text, n numeric); INSERT INTO t${i} SELECT g, md5(g::text), g FROM generate_series(1, 200) g;`,
          );
        await pgQuery(s, parts.join('\n'), db);
      },
    },
    {
      name: 'wide rows (40 columns)',
      build: async (s, db) => {
        const cols = Array.from({ length: 40 }, (_, i) => (i % 2 ? `c${i} text` : `c${i} numeric`)).join(', ');
        const vals = Array.from({ length: 40 }, (_, i) => (i % 2 ? `repeat(md5((g + ${i})::text), 3)` : `g * ${i + 1}.5`)).join(', ');
        await pgQuery(
          s,
          `CREATE TABLE wide (id int PRIMARY KEY, ${cols}); INSERT INTO wide SELECT g, ${vals} FROM generate_series(1, 200000) g; ANALYZE`,
          db,
        );
      },
    },
  ];
}

export async function benchCopy(args: string[]): Promise<string> {
  const scaleArg =
    args.find((a) => /^--scale=/.test(a)) ?? (args.includes('--scale') ? `--scale=${args[args.indexOf('--scale') + 1]}` : undefined);
  const scale = Number(scaleArg?.split('=')[1] ?? 50);
  const jobs = Number(args.find((a) => a.startsWith('--jobs='))?.split('=')[1] ?? 2);
  const withPgcopydb = ensureDebianTool('pgcopydb');
  const [source, target] = await Promise.all([
    startPostgres({ major: 15, settings: { max_wal_size: '4GB', checkpoint_timeout: '30min' } }),
    startPostgres({ major: 15, settings: { max_wal_size: '4GB', checkpoint_timeout: '30min', maintenance_work_mem: '256MB' } }),
  ]);
  const servers: Servers = { source, target };
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-bench-'));
  const rows: string[] = [
    `| case | size | tool | seconds | MB/s | dbferry speed-up | CPU s: source / target / tool |`,
    `|---|---:|---|---:|---:|---:|---:|`,
  ];
  try {
    for (const [i, c] of cases(scale).entries()) {
      const db = `bench${i}`;
      await pgQuery(source, `CREATE DATABASE ${db}`);
      await c.build(source, db);
      await pgQuery(source, 'CHECKPOINT');
      const size = Number(((await pgQuery(source, `SELECT pg_database_size('${db}') AS s`)) as { s: string }[])[0]?.s ?? 0);
      const mb = size / 1024 / 1024;
      const srcUri = `postgresql://postgres@127.0.0.1:${source.port}/${db}`;
      const tgtUri = `postgresql://postgres@127.0.0.1:${target.port}/${db}`;
      const fresh = async (create: boolean): Promise<void> => {
        await pgQuery(target, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await pgQuery(target, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
        if (create) await pgQuery(target, `CREATE DATABASE ${db}`);
        await pgQuery(target, 'CHECKPOINT');
      };
      const results: { tool: string; t: Timed }[] = [];
      await fresh(true);
      results.push({
        tool: 'pg_dump -Fc \\| pg_restore',
        t: await timed(servers, 'bash', [
          '-o',
          'pipefail',
          '-c',
          `${PGBIN}/pg_dump -Fc -d '${srcUri}' | ${PGBIN}/pg_restore --no-owner -d '${tgtUri}'`,
        ]),
      });
      // The same, plus the ANALYZE that pg_restore leaves to the user and that dbferry (and pgcopydb) include.
      await fresh(true);
      results.push({
        tool: 'pg_dump -Fc \\| pg_restore, then vacuumdb --analyze-only',
        t: await timed(servers, 'bash', [
          '-o',
          'pipefail',
          '-c',
          `${PGBIN}/pg_dump -Fc -d '${srcUri}' | ${PGBIN}/pg_restore --no-owner -d '${tgtUri}' && ${PGBIN}/vacuumdb --analyze-only --quiet -d '${tgtUri}'`,
        ]),
      });
      await fresh(true);
      const dumpDir = join(dir, `dump${i}`);
      results.push({
        tool: `pg_dump -Fd -j${jobs} + pg_restore -j${jobs}`,
        t: await timed(servers, 'bash', [
          '-o',
          'pipefail',
          '-c',
          `${PGBIN}/pg_dump -Fd -j${jobs} -f '${dumpDir}' -d '${srcUri}' && ${PGBIN}/pg_restore -j${jobs} --no-owner -d '${tgtUri}' '${dumpDir}'`,
        ]),
      });
      rmSync(dumpDir, { recursive: true, force: true });
      if (withPgcopydb) {
        await fresh(true);
        const work = join(dir, `pgcopydb${i}`);
        results.push({
          tool: `pgcopydb clone (${jobs} table/index jobs)`,
          t: await timed(
            servers,
            'pgcopydb',
            [
              'clone',
              '--source',
              srcUri,
              '--target',
              tgtUri,
              '--table-jobs',
              String(jobs),
              '--index-jobs',
              String(jobs),
              '--dir',
              work,
              '--no-owner',
              '--no-acl',
            ],
            { ...process.env, PGCOPYDB_PG_BIN: PGBIN },
          ),
        });
        rmSync(work, { recursive: true, force: true });
      }
      const ferryRun = async (verify: string | null): Promise<Timed> => {
        await fresh(false);
        const cfgFile = join(dir, `m${i}.yaml`);
        writeFileSync(
          cfgFile,
          `version: 1\nname: bench-${i}\nsource:\n  uri: postgres://postgres@127.0.0.1:${source.port}/postgres?sslmode=disable\ntarget:\n  uri: postgres://postgres@127.0.0.1:${target.port}/postgres?sslmode=disable\ndatabases:\n  include: [${db}]\nroles:\n  migrate: false\ncopy:\n  jobs: ${jobs}\n${verify ? `verify: ${verify}\n` : ''}`,
        );
        return timed(
          servers,
          process.execPath,
          [BIN, 'apply', cfgFile, '--yes', '--quiet'],
          { ...process.env, CI: 'true', PATH: `${PGBIN}:${process.env.PATH}` },
          true,
        );
      };
      // The default verify (row checksums) costs this much over the counts-only opt-out.
      results.push({ tool: 'dbferry apply, verify: counts', t: await ferryRun('counts') });
      const ferry = await ferryRun(null);
      const counted = (await pgQuery(
        target,
        `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'`,
        db,
      )) as { n: number }[];
      if ((counted[0]?.n ?? 0) === 0) throw new Error(`dbferry copied no table for ${c.name}`);
      results.push({ tool: 'dbferry apply (default: verify auto)', t: ferry });
      for (const r of results) {
        const ratio = r.tool.startsWith('dbferry apply') ? '' : `${(r.t.seconds / ferry.seconds).toFixed(2)}×`;
        const cpu = `${r.t.cpu.source.toFixed(1)} / ${r.t.cpu.target.toFixed(1)} / ${r.t.cpu.tool.toFixed(1)}`;
        rows.push(
          `| ${c.name} | ${mb.toFixed(0)} MB | ${r.tool} | ${r.t.seconds.toFixed(2)} | ${(mb / r.t.seconds).toFixed(1)} | ${ratio} | ${cpu} |`,
        );
      }
      rows.push(`| ${c.name} | | dbferry peak RSS | ${ferry.peakRssMb?.toFixed(0)} MB | | | |`);
      await pgQuery(source, `DROP DATABASE ${db}`);
      await pgQuery(target, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([stopPostgres(source), stopPostgres(target)]);
  }
  if (!existsSync('/usr/bin/pgcopydb')) rows.push('', '(pgcopydb could not be installed: its rows are missing)');
  return rows.join('\n');
}
