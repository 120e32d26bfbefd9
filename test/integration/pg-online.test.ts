/**
 * PostgreSQL online migration on real clusters: copy on the slot's snapshot while a writer keeps
 * changing the source, replication until cutover, sequences, DDL detection, cancel, re-apply;
 * and after every case no slot, publication, subscription or orphaned origin is left.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { PgServer } from '../setup/servers.js';
import { noReplicationLeft } from '../setup/leftovers.js';
import { replicationObjectName, replicationPrefix } from '../../src/engines/postgres/replication-sql.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;

/** A bounded writer: inserts, updates and deletes on the source until stopped (at most 60 s). */
function startWriter(s: PgServer, db: string): { stop: () => Promise<number> } {
  let running = true;
  let ops = 0;
  const done = (async () => {
    const c = new pg.Client({ host: s.host, port: s.port, user: s.user, database: db });
    await c.connect();
    const deadline = Date.now() + 60_000;
    try {
      while (running && Date.now() < deadline && ops < 200_000) {
        const i = ops++;
        if (i % 3 === 0)
          await c.query(`INSERT INTO events (account_id, amount, note) VALUES ($1, $2, $3)`, [1 + (i % 500), i % 997, `w${i}`]);
        else if (i % 3 === 1) await c.query(`UPDATE accounts SET balance = balance + 1, touched = now() WHERE id = $1`, [1 + (i % 500)]);
        else await c.query(`DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE amount = $1)`, [i % 997]);
      }
    } finally {
      await c.end();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return ops;
    },
  };
}

async function makeSource(db: string, server: PgServer = src): Promise<void> {
  await pgQuery(server, `DROP DATABASE IF EXISTS ${db}`);
  await pgQuery(server, `CREATE DATABASE ${db}`);
  await pgQuery(
    server,
    `CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL DEFAULT 0, touched timestamptz);
     CREATE TABLE events (id bigserial PRIMARY KEY, account_id int REFERENCES accounts(id), amount int, note text);
     CREATE TABLE trunc_me (id int PRIMARY KEY);
     CREATE TABLE nokey (a int, b text);
     INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 500) g;
     INSERT INTO events (account_id, amount, note) SELECT 1 + g % 500, g % 997, 'seed' FROM generate_series(1, 30000) g;
     INSERT INTO trunc_me SELECT generate_series(1, 100);
     INSERT INTO nokey VALUES (1, 'x');`,
    db,
  );
}

async function resetTarget(db: string): Promise<void> {
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

function config(name: string, db: string, extra = ''): string {
  return writeFile(
    tempDir(),
    'migration.yaml',
    pgYaml({
      name,
      source: src,
      target: tgt,
      include: [db],
      extra: `mode: online\nmethod: replication\nroles:\n  migrate: false\nreplication:\n  maxLag: 64kB\n${extra}`,
    }),
  );
}

beforeAll(async () => {
  await makeSource('online_db');
  await resetTarget('online_db');
});

afterAll(async () => {
  for (const db of ['online_db']) {
    await resetTarget(db);
    await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
  }
});

describe('PostgreSQL 13 -> 15 online, under a concurrent writer', () => {
  it('ends with source and target equal after cutover', async () => {
    const s13 = servers.pg['13']!;
    const t15 = servers.pg['15']!;
    await makeSource('online13', s13);
    await pgQuery(t15, 'DROP DATABASE IF EXISTS online13 WITH (FORCE)');
    await pgQuery(t15, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'online-13-15',
        source: s13,
        target: t15,
        include: ['online13'],
        extra: 'mode: online\nmethod: replication\nroles:\n  migrate: false',
      }),
    );
    const writer = startWriter(s13, 'online13');
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    await writer.stop();
    const c = await runCli(['cutover', file]);
    expect(c.code, c.stderr).toBe(0);
    expect(await dataHashes(t15, 'online13')).toEqual(await dataHashes(s13, 'online13'));
    expect(await pgQuery(s13, `SELECT slot_name FROM pg_replication_slots`)).toEqual([]);
    expect(await pgQuery(t15, `SELECT subname FROM pg_subscription`)).toEqual([]);
    await pgQuery(t15, 'DROP DATABASE IF EXISTS online13 WITH (FORCE)');
    await pgQuery(t15, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    await pgQuery(s13, 'DROP DATABASE IF EXISTS online13');
  });
});

describe('online migration under a concurrent writer', () => {
  it('copies, replicates every change, cuts over with sequences synced, and leaves nothing behind', async () => {
    const file = config('online-one', 'online_db');
    const writer = startWriter(src, 'online_db');
    await new Promise((r) => setTimeout(r, 300));
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'replicated by their inserts (no primary key or replica identity; re-copied at cutover if UPDATE or DELETE changed them): public.nokey',
    );
    expect(r.stderr).toMatch(/Replicating "online_db": waiting for `dbferry cutover`/);
    expect(await pgQuery(tgt, 'SELECT state, substate FROM dbferry.migrations')).toEqual([
      { state: 'InProgress', substate: 'WaitingForCutoverTrigger' },
    ]);
    // Changes during replication, including a TRUNCATE.
    await pgQuery(src, 'TRUNCATE trunc_me; INSERT INTO trunc_me VALUES (7)', 'online_db');
    const st = await runCli(['status', file, '--json']);
    const doc = JSON.parse(st.stdout) as {
      migration: { status: string };
      databases: { status: string; lag: number | null; method: string }[];
    };
    expect(doc.migration.status).toBe('syncing');
    expect(doc.databases[0]).toMatchObject({ status: 'syncing', method: 'replication' });
    expect(typeof doc.databases[0]?.lag).toBe('number');
    // Running apply again changes nothing and duplicates nothing.
    const again = await runCli(['apply', file, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('Resumed migration "online-one"');
    const ops = await writer.stop();
    expect(ops).toBeGreaterThan(100);
    const c = await runCli(['cutover', file]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/online_db: cut over; \d+ sequence\(s\) synced; (.*; )?writes had to be paused for [\d.]+m?s/);
    expect(c.stdout).toContain('Migration "online-one": Succeeded / Completed');
    const a = await dataHashes(src, 'online_db');
    const b = await dataHashes(tgt, 'online_db');
    expect(b).toEqual(a);
    const seq = await pgQuery<{ v: string }>(src, `SELECT last_value::text AS v FROM events_id_seq`, 'online_db');
    const seqT = await pgQuery<{ v: string }>(tgt, `SELECT last_value::text AS v FROM events_id_seq`, 'online_db');
    expect(BigInt(seqT[0]!.v)).toBeGreaterThanOrEqual(BigInt(seq[0]!.v));
    const cdc = JSON.parse((await runCli(['status', file, '--json'])).stdout) as { state: string };
    expect(cdc.state).toBe('Succeeded');
    await noReplicationLeft(src, tgt);
  });

  it('DDL on the source is reported and blocks cutover until the target matches', async () => {
    await resetTarget('online_db');
    const file = config('online-ddl', 'online_db');
    expect((await runCli(['apply', file, '--yes'])).code).toBe(0);
    await pgQuery(src, 'ALTER TABLE accounts ADD COLUMN tier text', 'online_db');
    const st = await runCli(['status', file]);
    expect(st.stdout).toMatch(/schema changed during replication .*table public\.accounts differs/);
    const refused = await runCli(['cutover', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('cutover refused: the schema of "online_db" changed during replication');
    expect(await pgQuery(tgt, 'SELECT state FROM dbferry.migrations')).toEqual([{ state: 'WaitingForUserAction' }]);
    await pgQuery(tgt, 'ALTER TABLE accounts ADD COLUMN tier text', 'online_db');
    await pgQuery(src, `UPDATE accounts SET tier = 'gold' WHERE id < 10`, 'online_db');
    const ok = await runCli(['cutover', file]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await pgQuery(tgt, `SELECT count(*)::int AS n FROM accounts WHERE tier = 'gold'`, 'online_db')).toEqual([{ n: 9 }]);
    await pgQuery(src, 'ALTER TABLE accounts DROP COLUMN tier', 'online_db');
    await noReplicationLeft(src, tgt);
  });

  it('cancel during replication removes everything on both sides and keeps the copied data', async () => {
    await resetTarget('online_db');
    const file = config('online-cancel', 'online_db');
    expect((await runCli(['apply', file, '--yes'])).code).toBe(0);
    // While it replicates, a second migration of the same target database is refused.
    const other = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'online-other',
        source: src,
        target: tgt,
        extra:
          'mode: online\nmethod: replication\noption: Migrate\nroles:\n  migrate: false\ndatabases:\n  include: [online_db]\n  overwrite: true',
      }),
    );
    const refused = await runCli(['apply', other, '--yes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('database "online_db" is already being migrated by active migration "online-cancel"');
    const r = await runCli(['cancel', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('removed subscription');
    expect(r.stdout).toContain('Migration "online-cancel": Canceled');
    await noReplicationLeft(src, tgt);
    expect((await pgQuery<{ n: number }>(tgt, 'SELECT count(*)::int AS n FROM accounts', 'online_db'))[0]?.n).toBe(500);
  });

  it('SIGINT during the copy of an online migration exits 130 and leaves nothing behind', async () => {
    await resetTarget('online_db');
    const { startCli, waitForStderr } = await import('../setup/cli.js');
    const file = config('online-sigint', 'online_db');
    const child = startCli(['apply', file, '--yes'], { env: { DBFERRY_PAUSE_AT: 'after:schema-pre-data' } });
    await waitForStderr(child, 'paused at after:schema-pre-data');
    expect((await pgQuery(src, `SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name LIKE 'dbferry\\_%'`))[0]).toEqual({
      n: 1,
    });
    const code = await new Promise<number | null>((res) => {
      child.on('exit', (c) => res(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(130);
    await noReplicationLeft(src, tgt);
  });

  for (const side of ['source', 'target'] as const) {
    it(`a ${side} restart during replication: streaming resumes and cutover ends equal`, async () => {
      await resetTarget('online_db');
      const { restartPostgres } = await import('../setup/servers.js');
      const file = config(`online-restart-${side}`, 'online_db');
      expect((await runCli(['apply', file, '--yes'])).code).toBe(0);
      await pgQuery(src, `INSERT INTO events (account_id, amount, note) VALUES (1, 1, 'before ${side} restart')`, 'online_db');
      await restartPostgres(side === 'source' ? src : tgt);
      await pgQuery(
        src,
        `INSERT INTO events (account_id, amount, note) VALUES (2, 2, 'after ${side} restart'); UPDATE accounts SET balance = -1 WHERE id = 3; DELETE FROM events WHERE id = 5`,
        'online_db',
      );
      const c = await runCli(['cutover', file]);
      expect(c.code, c.stderr).toBe(0);
      expect(await dataHashes(tgt, 'online_db')).toEqual(await dataHashes(src, 'online_db'));
      await noReplicationLeft(src, tgt);
    });
  }

  it('cutover: true cuts over at once; status shows when replication last heard from the source', async () => {
    await resetTarget('online_db');
    const waiting = config('online-auto', 'online_db');
    expect((await runCli(['apply', waiting, '--yes'])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const st = await runCli(['status', waiting, '--json']);
    const doc = JSON.parse(st.stdout) as { databases: { lastChangeAt: string | null }[] };
    expect(Date.now() - Date.parse(doc.databases[0]?.lastChangeAt ?? '1970-01-01')).toBeLessThan(60_000);
    expect((await runCli(['status', waiting])).stdout).toMatch(/online_db: replication last heard from the source (just now|\d+s ago)/);
    expect((await runCli(['cancel', waiting])).code).toBe(0);
    await resetTarget('online_db');
    const auto = config('online-auto2', 'online_db', 'cutover: true');
    const r = await runCli(['apply', auto, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Cut over: online_db: cut over; \d+ sequence\(s\) synced; (.*; )?writes had to be paused for/);
    expect(await pgQuery(tgt, `SELECT state FROM dbferry.migrations WHERE name = 'online-auto2'`)).toEqual([{ state: 'Succeeded' }]);
    await noReplicationLeft(src, tgt);
  });

  it('method auto falls back to dump loudly where replication is not possible', async () => {
    const { startPostgres, stopPostgres } = await import('../setup/servers.js');
    const replica = await startPostgres({ major: 15, settings: { wal_level: 'replica' } });
    try {
      await makeSource('fallback_db', replica);
      await pgQuery(tgt, 'DROP DATABASE IF EXISTS fallback_db WITH (FORCE)');
      await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        pgYaml({
          name: 'online-fallback',
          source: replica,
          target: tgt,
          include: ['fallback_db'],
          extra: 'mode: online\nroles:\n  migrate: false',
        }),
      );
      const r = await runCli(['apply', file, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('method auto fell back to dump: wal_level is replica');
      const st = await runCli(['status', file]);
      expect(st.stdout).toContain('fallback_db: method auto fell back to dump: wal_level is replica, logical replication needs logical');
      expect(JSON.parse((await runCli(['status', file, '--json'])).stdout)).toMatchObject({
        state: 'Succeeded',
        migration_detail: [{ dbname: 'fallback_db', method: 'pg_dump', status: 'done' }],
      });
      await pgQuery(tgt, 'DROP DATABASE IF EXISTS fallback_db WITH (FORCE)');
    } finally {
      await stopPostgres(replica);
    }
  });

  it('a failed apply and a cancel after a crash leave nothing behind', async () => {
    await resetTarget('online_db');
    // Kill the run right after the slot's copy landed, then cancel from "another machine".
    const { spawnCli } = await import('../setup/cli.js');
    const file = config('online-crash', 'online_db');
    const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: 'after:copy-data' } });
    expect(crashed.signal).toBe('SIGKILL');
    expect(
      (await pgQuery(src, `SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name LIKE 'dbferry\\_online\\_crash%'`))[0],
    ).toEqual({ n: 1 });
    const c = await runCli(['cancel', file]);
    expect(c.code, c.stderr).toBe(0);
    await noReplicationLeft(src, tgt);
  });
  it("cancel removes this migration's objects only: another migration whose name shares the prefix keeps its slot", async () => {
    await resetTarget('online_db');
    // online-crash-2's slot for online_db is named dbferry_online_crash_2_online_db_<hash>: it starts with online-crash's prefix.
    const other = replicationObjectName('online-crash-2', 'online_db');
    expect(other.startsWith(replicationPrefix('online-crash'))).toBe(true);
    await pgQuery(src, `SELECT pg_create_logical_replication_slot('${other}', 'pgoutput')`);
    try {
      const c = await runCli(['cancel', config('online-crash', 'online_db')]);
      expect(c.code, c.stderr).toBe(0);
      expect(await pgQuery(src, `SELECT slot_name FROM pg_replication_slots WHERE slot_name = '${other}'`)).toEqual([{ slot_name: other }]);
    } finally {
      await pgQuery(src, `SELECT pg_drop_replication_slot('${other}')`);
    }
  });
  it('one database fails while another replicates: the migration stays InProgress, apply again resumes', async () => {
    await resetTarget('online_db');
    await makeSource('online_db2');
    await resetTarget('online_db2');
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'online-partial',
        source: src,
        target: tgt,
        include: ['online_db', 'online_db2'],
        extra: 'mode: online\nmethod: replication\nroles:\n  migrate: false\ncopy:\n  jobs: 1',
      }),
    );
    // Databases run one after the other (jobs: 1) in name order: online_db replicates, then online_db2 fails.
    const failed = await runCli(['apply', file, '--yes'], { env: { DBFERRY_FAIL_AT: 'after:online_db2:schema-pre-data' } });
    expect(failed.code, failed.stderr).toBe(1);
    expect(failed.stderr).toContain('injected failure at after:online_db2:schema-pre-data');
    const [m] = await pgQuery<{ state: string; substate: string; error: string }>(
      tgt,
      `SELECT state, substate, error FROM dbferry.migrations WHERE name = 'online-partial'`,
    );
    // The servers replicate online_db: recording a Failed migration would contradict them.
    expect(m).toMatchObject({ state: 'InProgress', substate: 'MigratingData' });
    expect(m?.error).toContain('replication of "online_db" is still running');
    expect(await pgQuery(tgt, `SELECT subname FROM pg_subscription`)).toHaveLength(1);
    const again = await runCli(['apply', file, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('already replicating');
    expect(await pgQuery(tgt, `SELECT state, substate FROM dbferry.migrations WHERE name = 'online-partial'`)).toEqual([
      { state: 'InProgress', substate: 'WaitingForCutoverTrigger' },
    ]);
    await pgQuery(src, `INSERT INTO events (account_id, amount, note) VALUES (1, 1, 'after resume')`, 'online_db2');
    const c = await runCli(['cutover', file]);
    expect(c.code, c.stderr).toBe(0);
    for (const db of ['online_db', 'online_db2']) {
      expect(await dataHashes(tgt, db)).toEqual(await dataHashes(src, db));
      await noReplicationLeft(src, tgt);
    }
    await resetTarget('online_db2');
    await pgQuery(src, 'DROP DATABASE IF EXISTS online_db2');
  });
});
