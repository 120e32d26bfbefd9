/**
 * Online PostgreSQL on workloads users have: pgbench's standard script (its history table has no
 * key) writing during apply and until cutover; key-less tables changed by UPDATE and DELETE, an
 * append-only one, large objects and an unlogged table changed during replication; tables.skip;
 * several databases where one fails its cutover verify. After every cutover and cancel: every
 * table equal by count and checksum, and no replication object of dbferry on either server.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { PgServer } from '../setup/servers.js';
import { noReplicationLeft } from '../setup/leftovers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const PGBENCH = '/usr/lib/postgresql/15/bin/pgbench';

async function resetTarget(...dbs: string[]): Promise<void> {
  for (const db of dbs) await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

function online(name: string, dbs: string[], extra = ''): string {
  return writeFile(
    tempDir(),
    'migration.yaml',
    pgYaml({
      name,
      source: src,
      target: tgt,
      include: dbs,
      extra: `mode: online\nmethod: replication\nroles:\n  migrate: false\n${extra}`,
    }),
  );
}

/** pgbench's standard TPC-B-like script on two clients, bounded at 120 s; stop() ends it with SIGINT. */
function startPgbench(db: string): { stop: () => Promise<void> } {
  const child = spawn(PGBENCH, ['-n', '-c', '2', '-T', '120', '-h', src.host, '-p', String(src.port), '-U', src.user, db], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  return {
    stop: async () => {
      child.kill('SIGINT');
      await exited;
    },
  };
}

describe('online under pgbench (standard script, key-less history table)', () => {
  beforeAll(async () => {
    await pgQuery(src, 'DROP DATABASE IF EXISTS bench');
    await pgQuery(src, 'CREATE DATABASE bench');
    await new Promise<void>((res, rej) =>
      spawn(PGBENCH, ['-i', '-q', '-s', '10', '-h', src.host, '-p', String(src.port), '-U', src.user, 'bench'], { stdio: 'ignore' }).on(
        'exit',
        (c) => (c === 0 ? res() : rej(new Error(`pgbench -i exited ${c}`))),
      ),
    );
    await resetTarget('bench');
  });
  afterAll(async () => {
    await resetTarget('bench');
    await pgQuery(src, 'DROP DATABASE IF EXISTS bench');
  });

  it('apply and replication while pgbench writes; cutover ends with every table equal and nothing left', async () => {
    const file = online('pgbench-online', ['bench']);
    const load = startPgbench('bench');
    try {
      const r = await runCli(['apply', file, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        'replicated by their inserts (no primary key or replica identity; re-copied at cutover if UPDATE or DELETE changed them): public.pgbench_history',
      );
      const before = Number((await pgQuery<{ n: string }>(src, 'SELECT count(*)::text AS n FROM pgbench_history', 'bench'))[0]?.n);
      // Replication goes on while pgbench keeps writing: history rows inserted now arrive too.
      await new Promise<void>((res) => {
        const poll = async (): Promise<void> => {
          const n = Number((await pgQuery<{ n: string }>(src, 'SELECT count(*)::text AS n FROM pgbench_history', 'bench'))[0]?.n);
          if (n > before + 200) res();
          else setTimeout(() => void poll(), 200);
        };
        void poll();
      });
    } finally {
      await load.stop();
    }
    const c = await runCli(['cutover', file]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(
      /bench: cut over; \d+ sequence\(s\) synced; unchanged, not re-copied: public\.pgbench_history; writes had to be paused for/,
    );
    const a = await dataHashes(src, 'bench');
    expect(Number(a['public.pgbench_history']?.split(':')[0])).toBeGreaterThan(200);
    expect(await dataHashes(tgt, 'bench')).toEqual(a);
    await noReplicationLeft(src, tgt);
  });

  it('a second migration of the same database, canceled while replicating, leaves nothing', async () => {
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'pgbench-cancel',
        source: src,
        target: tgt,
        extra: 'mode: online\nmethod: replication\nroles:\n  migrate: false\ndatabases:\n  include: [bench]\n  overwrite: true',
      }),
    );
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const c = await runCli(['cancel', file]);
    expect(c.code, c.stderr).toBe(0);
    await noReplicationLeft(src, tgt);
  });
});

describe('online: what logical replication does not carry is made equal at cutover', () => {
  beforeAll(async () => {
    await pgQuery(src, 'DROP DATABASE IF EXISTS carry');
    await pgQuery(src, 'CREATE DATABASE carry');
    await pgQuery(
      src,
      `CREATE TABLE keyed (id int PRIMARY KEY, v text);
       CREATE TABLE changing (a int, b text);
       CREATE TABLE append_only (at timestamptz DEFAULT now(), what text);
       CREATE UNLOGGED TABLE scratch (k text, v int);
       CREATE TABLE audit (id int PRIMARY KEY, v text);
       CREATE SEQUENCE counter;
       INSERT INTO keyed SELECT g, 'v' || g FROM generate_series(1, 100) g;
       INSERT INTO changing SELECT g % 10, 'row ' || g FROM generate_series(1, 100) g;
       INSERT INTO append_only (what) SELECT 'seed ' || g FROM generate_series(1, 50) g;
       INSERT INTO scratch VALUES ('a', 1), ('b', 2);
       INSERT INTO audit VALUES (1, 'one'), (2, 'two');
       SELECT lo_from_bytea(7001, 'kept'), lo_from_bytea(7002, 'to be unlinked'), lo_from_bytea(7003, 'to be changed');`,
      'carry',
    );
    await resetTarget('carry');
  });
  afterAll(async () => {
    await resetTarget('carry');
    await pgQuery(src, 'DROP DATABASE IF EXISTS carry');
  });

  it('key-less tables changed by UPDATE/DELETE, an append-only one, large objects and an unlogged table end equal; tables.skip is honoured', async () => {
    const file = online('carry-online', ['carry'], 'tables:\n  skip: [carry.public.audit]');
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    await pgQuery(
      src,
      `UPDATE changing SET b = 'updated' WHERE a = 3;
       DELETE FROM changing WHERE a = 4;
       INSERT INTO changing VALUES (11, 'inserted');
       INSERT INTO append_only (what) VALUES ('during replication');
       UPDATE keyed SET v = 'changed' WHERE id = 5;
       INSERT INTO scratch VALUES ('c', 3); DELETE FROM scratch WHERE k = 'a';
       INSERT INTO audit VALUES (3, 'three');
       SELECT lo_unlink(7002); SELECT lo_put(7003, 0, 'CHANGED'); SELECT lo_from_bytea(7004, 'new');
       SELECT nextval('counter'), nextval('counter');`,
      'carry',
    );
    // status says which tables are carried at cutover, and how.
    const st = await runCli(['status', file]);
    expect(st.stdout).toMatch(
      /carry: .*their inserts replicate; at cutover those changed by UPDATE or DELETE are copied again: .*public\.changing/,
    );
    expect(st.stdout).toMatch(
      /carry: unlogged table\(s\) are not replicated; at cutover those that changed are copied again: public\.scratch/,
    );
    const c = await runCli(['cutover', file]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('re-copied (changed by UPDATE/DELETE or not replicated): public.changing, public.scratch');
    expect(c.stdout).toContain('unchanged, not re-copied: public.append_only');
    expect(c.stdout).toContain('large objects: 2 copied, 1 removed');
    const a = await dataHashes(src, 'carry');
    const b = await dataHashes(tgt, 'carry');
    // tables.skip: created empty, neither copied nor compared.
    expect(b['public.audit']).toBe('0:0');
    delete a['public.audit'];
    delete b['public.audit'];
    expect(b).toEqual(a);
    const los = (s: PgServer) =>
      pgQuery(s, `SELECT oid::text, encode(lo_get(oid), 'escape') AS v FROM pg_largeobject_metadata ORDER BY oid`, 'carry');
    expect(await los(tgt)).toEqual(await los(src));
    expect(await pgQuery(tgt, 'SELECT last_value::text AS v, is_called FROM counter', 'carry')).toEqual([{ v: '2', is_called: true }]);
    await noReplicationLeft(src, tgt);
  });
});

describe('online: several databases, one fails its cutover verify', () => {
  beforeAll(async () => {
    for (const db of ['multi_a', 'multi_b']) {
      await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
      await pgQuery(src, `CREATE DATABASE ${db}`);
      await pgQuery(
        src,
        `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g`,
        db,
      );
    }
    await resetTarget('multi_a', 'multi_b');
  });
  afterAll(async () => {
    await resetTarget('multi_a', 'multi_b');
    for (const db of ['multi_a', 'multi_b']) await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
  });

  it('the other is cut over, the failed one keeps replicating; cutover again finishes it after the fix', async () => {
    const file = online('multi-online', ['multi_a', 'multi_b']);
    expect((await runCli(['apply', file, '--yes'])).code).toBe(0);
    // A row written on the target behind dbferry's back: multi_a cannot verify.
    await pgQuery(tgt, `INSERT INTO t VALUES (1000, 'behind dbferry')`, 'multi_a');
    const first = await runCli(['cutover', file]);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toContain('cutover finished 1 of 2 database(s)');
    expect(first.stderr).toMatch(
      /multi_a: NOT cut over: verify failed for 1 table\(s\) in "multi_a": public\.t \(100 rows on the source, 101 on the target\)/,
    );
    expect(first.stderr).toMatch(/multi_b: cut over/);
    const st = JSON.parse((await runCli(['status', file, '--json'])).stdout) as {
      state: string;
      substate: string;
      databases: { dbname: string; status: string }[];
    };
    expect(st).toMatchObject({ state: 'InProgress', substate: 'WaitingForCutoverTrigger' });
    expect(Object.fromEntries(st.databases.map((d) => [d.dbname, d.status]))).toEqual({ multi_a: 'syncing', multi_b: 'done' });
    // multi_a still replicates: a change on the source arrives.
    await pgQuery(src, `UPDATE t SET v = 'after first cutover' WHERE id = 1`, 'multi_a');
    await pgQuery(tgt, 'DELETE FROM t WHERE id = 1000', 'multi_a');
    const second = await runCli(['cutover', file]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/multi_a: cut over/);
    expect(second.stdout).not.toMatch(/multi_b/);
    expect(second.stdout).toContain('Migration "multi-online": Succeeded / Completed');
    for (const db of ['multi_a', 'multi_b']) expect(await dataHashes(tgt, db)).toEqual(await dataHashes(src, db));
    await noReplicationLeft(src, tgt);
  });
});
