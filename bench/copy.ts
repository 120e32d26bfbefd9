/**
 * Offline copy speed: dbferry apply against pg_dump -Fc | pg_restore --create and pg_dump -Fd -j |
 * pg_restore -j --create (and, with --all-tools, pgcopydb clone and pg_restore followed by vacuumdb
 * --analyze-only), on the same data, same machine, in one run: `--runs` alternating runs per tool
 * (default 5), medians. Servers run with durable settings (fsync, full_page_writes on;
 * synchronous_commit off server-wide so no tool waits on commits); `--fast` turns fsync and
 * full_page_writes off for a second figure. Cases (`--cases=a,b`): pgbench at each of `--scale`
 * (default 20,50), 1,000 small tables, wide rows, 10,000 small tables in 100 schemas, a table
 * with 500 partitions. Source and target: embedded PostgreSQL 15 (the machine's pg_dump is 15).
 * dbferry runs with its default settings (copy.jobs 4, verify auto), roles.migrate off; --jobs sets
 * pg_dump's and pg_restore's -j. pg_restore creates the target database in its run, as dbferry does
 * (pgcopydb cannot: its database is created before its run, outside its time). Prints median
 * seconds, the speed-up (other tool's median / dbferry's), the CPU seconds each run cost the
 * source's server processes, the target's and the tool's own processes, and dbferry's peak RSS.
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

export interface Case {
  /** What --cases selects it by. */
  key: string;
  name: string;
  build(s: PgServer, db: string): Promise<void>;
}

/** Creates `count` tables of `rows` rows in `schemas` schemas (public when 0), a few thousand statements per round trip. */
async function smallTables(s: PgServer, db: string, count: number, rows: number, schemas: number): Promise<void> {
  const parts: string[] = [];
  for (let k = 0; k < schemas; k++) parts.push(`CREATE SCHEMA s${k};`);
  for (let i = 0; i < count; i++) {
    const name = schemas ? `s${i % schemas}.t${i}` : `t${i}`;
    parts.push(
      `CREATE TABLE ${name} (id int PRIMARY KEY, v text, n numeric); INSERT INTO ${name} SELECT g, md5(g::text), g FROM generate_series(1, ${rows}) g;`,
    );
    if (parts.length >= 500) await pgQuery(s, parts.splice(0).join('\n'), db);
  }
  if (parts.length) await pgQuery(s, parts.join('\n'), db);
}

export function cases(scales: number[]): Case[] {
  return [
    ...scales.map((scale): Case => ({
      key: `pgbench${scale}`,
      name: `pgbench scale ${scale}`,
      build: async (s, db) => {
        execFileSync(join(PGBIN, 'pgbench'), ['-i', '-q', '-s', String(scale), '-h', s.host, '-p', String(s.port), '-U', s.user, db], {
          stdio: 'ignore',
        });
      },
    })),
    { key: 'small', name: '1,000 small tables', build: (s, db) => smallTables(s, db, 1000, 200, 0) },
    {
      key: 'wide',
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
    { key: 'tenants', name: '10,000 small tables in 100 schemas', build: (s, db) => smallTables(s, db, 10000, 20, 100) },
    {
      key: 'partitions',
      name: 'a table with 500 partitions',
      build: async (s, db) => {
        const parts = ['CREATE TABLE events (id bigint, at date NOT NULL, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);'];
        for (let i = 0; i < 500; i++)
          parts.push(
            `CREATE TABLE events_${i} PARTITION OF events FOR VALUES FROM ('2000-01-01'::date + ${i}) TO ('2000-01-01'::date + ${i + 1});`,
          );
        parts.push(`INSERT INTO events SELECT g, '2000-01-01'::date + (g % 500), md5(g::text) FROM generate_series(1, 500000) g; ANALYZE`);
        await pgQuery(s, parts.join('\n'), db);
      },
    },
  ];
}

export const DURABLE = { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'off', max_wal_size: '4GB', checkpoint_timeout: '30min' };
const FAST = { ...DURABLE, fsync: 'off', full_page_writes: 'off' };

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const argValue = (args: string[], name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];

interface Tool {
  name: string;
  run(i: number): Promise<Timed>;
  /** Whether the tool creates the target database in its run (pgcopydb needs it created beforehand, outside its time). */
  createsDatabase: boolean;
}

function toolsFor(servers: Servers, dir: string, db: string, jobs: number, allTools: boolean): Tool[] {
  const { source, target } = servers;
  const srcUri = `postgresql://postgres@127.0.0.1:${source.port}/${db}`;
  const tgtUri = `postgresql://postgres@127.0.0.1:${target.port}/${db}`;
  // pg_restore --create connects here and creates the database from the dump, as dbferry does: both count it.
  const tgtMaintenanceUri = `postgresql://postgres@127.0.0.1:${target.port}/postgres`;
  const shell = (cmd: string): Promise<Timed> => timed(servers, 'bash', ['-o', 'pipefail', '-c', cmd]);
  const tools: Tool[] = [
    {
      name: 'pg_dump -Fc \\| pg_restore --create',
      createsDatabase: true,
      run: () => shell(`${PGBIN}/pg_dump -Fc -d '${srcUri}' | ${PGBIN}/pg_restore --no-owner --create -d '${tgtMaintenanceUri}'`),
    },
    {
      name: `pg_dump -Fd -j${jobs} + pg_restore -j${jobs} --create`,
      createsDatabase: true,
      run: async (i) => {
        const dumpDir = join(dir, `dump${i}`);
        try {
          return await shell(
            `${PGBIN}/pg_dump -Fd -j${jobs} -f '${dumpDir}' -d '${srcUri}' && ${PGBIN}/pg_restore -j${jobs} --no-owner --create -d '${tgtMaintenanceUri}' '${dumpDir}'`,
          );
        } finally {
          rmSync(dumpDir, { recursive: true, force: true });
        }
      },
    },
    {
      name: 'dbferry apply',
      createsDatabase: true,
      run: (i) => {
        const cfgFile = join(dir, `m-${db}-${i}.yaml`);
        writeFileSync(
          cfgFile,
          `version: 1\nname: bench-${db}-${i}\nsource:\n  uri: postgres://postgres@127.0.0.1:${source.port}/postgres?sslmode=disable\ntarget:\n  uri: postgres://postgres@127.0.0.1:${target.port}/postgres?sslmode=disable\ndatabases:\n  include: [${db}]\nroles:\n  migrate: false\n`,
        );
        const env = { ...process.env, CI: 'true', PATH: `${PGBIN}:${process.env.PATH}` };
        return timed(servers, process.execPath, [BIN, 'apply', cfgFile, '--yes', '--quiet'], env, true);
      },
    },
  ];
  if (!allTools) return tools;
  tools.splice(1, 0, {
    name: 'pg_dump -Fc \\| pg_restore --create, then vacuumdb --analyze-only',
    createsDatabase: true,
    run: () =>
      shell(
        `${PGBIN}/pg_dump -Fc -d '${srcUri}' | ${PGBIN}/pg_restore --no-owner --create -d '${tgtMaintenanceUri}' && ${PGBIN}/vacuumdb --analyze-only --quiet -d '${tgtUri}'`,
      ),
  });
  if (ensureDebianTool('pgcopydb'))
    tools.splice(tools.length - 1, 0, {
      name: `pgcopydb clone (${jobs} table/index jobs)`,
      createsDatabase: false,
      run: async (i) => {
        const work = join(dir, `pgcopydb${i}`);
        const args = ['clone', '--source', srcUri, '--target', tgtUri, '--table-jobs', String(jobs), '--index-jobs', String(jobs)];
        try {
          return await timed(servers, 'pgcopydb', [...args, '--dir', work, '--no-owner', '--no-acl'], {
            ...process.env,
            PGCOPYDB_PG_BIN: PGBIN,
          });
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
    });
  return tools;
}

/** One case: every tool `runs` times, alternating, each into a fresh target database; the table rows. */
async function benchCase(servers: Servers, dir: string, c: Case, i: number, opts: { runs: number; jobs: number; allTools: boolean }) {
  const { source, target } = servers;
  const db = `bench${i}`;
  await pgQuery(source, `CREATE DATABASE ${db}`);
  await c.build(source, db);
  await pgQuery(source, 'VACUUM ANALYZE', db);
  await pgQuery(source, 'CHECKPOINT');
  const size = Number(((await pgQuery(source, `SELECT pg_database_size('${db}') AS s`)) as { s: string }[])[0]?.s ?? 0);
  const tools = toolsFor(servers, dir, db, opts.jobs, opts.allTools);
  const results = new Map<Tool, Timed[]>(tools.map((t) => [t, []]));
  for (let r = 0; r < opts.runs; r++) {
    for (const tool of tools) {
      await pgQuery(target, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await pgQuery(target, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
      if (!tool.createsDatabase) await pgQuery(target, `CREATE DATABASE ${db}`);
      await pgQuery(target, 'CHECKPOINT');
      results.get(tool)?.push(await tool.run(r));
    }
  }
  const ferry = results.get(tools[tools.length - 1] as Tool) as Timed[];
  const ferryMedian = median(ferry.map((t) => t.seconds));
  const rows: string[] = [];
  for (const tool of tools) {
    const t = results.get(tool) as Timed[];
    const m = median(t.map((x) => x.seconds));
    const ratio = t === ferry ? '' : `${(m / ferryMedian).toFixed(2)}×`;
    const cpu = (['source', 'target', 'tool'] as const).map((k) => median(t.map((x) => x.cpu[k])).toFixed(1)).join(' / ');
    const runs = t.map((x) => x.seconds.toFixed(2)).join(', ');
    rows.push(`| ${c.name} | ${(size / 1024 / 1024).toFixed(0)} MB | ${tool.name} | ${m.toFixed(2)} | ${runs} | ${ratio} | ${cpu} |`);
  }
  rows.push(`| ${c.name} | | dbferry peak RSS | ${Math.max(...ferry.map((t) => t.peakRssMb ?? 0)).toFixed(0)} MB | | | |`);
  await pgQuery(source, `DROP DATABASE ${db}`);
  await pgQuery(target, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  return rows;
}

export async function benchCopy(args: string[]): Promise<string> {
  const scales = (argValue(args, 'scale') ?? '20,50').split(',').map(Number);
  const jobs = Number(argValue(args, 'jobs') ?? 2);
  const runs = Number(argValue(args, 'runs') ?? 5);
  const wanted = argValue(args, 'cases')?.split(',');
  const allTools = args.includes('--all-tools');
  const settings = args.includes('--fast') ? FAST : DURABLE;
  const selected = cases(scales).filter((c) => !wanted || wanted.includes(c.key) || wanted.includes(c.key.replace(/\d+$/, '')));
  const [source, target] = await Promise.all([
    startPostgres({ major: 15, settings }),
    startPostgres({ major: 15, settings: { ...settings, maintenance_work_mem: '256MB' } }),
  ]);
  const servers: Servers = { source, target };
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-bench-'));
  const rows: string[] = [
    `Servers: ${args.includes('--fast') ? 'fast (fsync, full_page_writes off)' : 'durable (fsync, full_page_writes on)'}; ${runs} alternating runs per tool; medians.`,
    '',
    `| case | size | tool | median s | runs (s) | dbferry speed-up | CPU s: source / target / tool (medians) |`,
    `|---|---:|---|---:|---|---:|---:|`,
  ];
  try {
    for (const [i, c] of selected.entries()) rows.push(...(await benchCase(servers, dir, c, i, { runs, jobs, allTools })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([stopPostgres(source), stopPostgres(target)]);
  }
  if (allTools && !existsSync('/usr/bin/pgcopydb')) rows.push('', '(pgcopydb could not be installed: its rows are missing)');
  return rows.join('\n');
}
