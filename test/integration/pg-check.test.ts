/**
 * The PostgreSQL pre-migration check on real clusters: every Failed and Warning path produced for
 * real, the method decided per database, results recorded, and nothing written anywhere else.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startPostgres, stopPostgres, type PgServer } from '../setup/servers.js';
import { pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';

const servers = inject('servers');
const pg13 = servers.pg['13']!;
const pg15 = servers.pg['15']!;
const pg17 = servers.pg['17']!;
let bad: PgServer;

interface Doc {
  result: string;
  message: string;
  checks: { id: string; level: string; database: string | null; result: string; message: string; hint: string }[];
  databases: { dbname: string; method: string; reason: string }[];
  migration: { error: string | null; method: string; status: string };
}

async function check(
  yaml: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number; doc: Doc; stderr: string; text: string }> {
  const dir = tempDir();
  const file = writeFile(dir, 'migration.yaml', yaml);
  const j = await runCli(['check', file, '--json', ...extraArgs], { env });
  const t = await runCli(['check', file, ...extraArgs], { env });
  expect(t.code).toBe(j.code);
  return { code: j.code, doc: JSON.parse(j.stdout) as Doc, stderr: j.stderr, text: t.stdout };
}

const find = (d: Doc, id: string, db: string | null = null) => d.checks.find((c) => c.id === id && c.database === db);

beforeAll(async () => {
  // A cluster that cannot do logical replication, reachable on two loopback addresses.
  // Its lock table is small too (10 locks x 20 connections): pg_dump could not lock 150 tables.
  bad = await startPostgres({
    major: 15,
    settings: {
      wal_level: 'replica',
      max_replication_slots: 0,
      max_wal_senders: 0,
      listen_addresses: '127.0.0.1,127.0.0.2',
      max_locks_per_transaction: 10,
      max_connections: 20,
    },
  });
  for (const s of [pg13, pg15, bad]) {
    await pgQuery(s, 'DROP DATABASE IF EXISTS ck_app');
    await pgQuery(s, 'CREATE DATABASE ck_app');
    await pgQuery(
      s,
      'CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, g::text FROM generate_series(1, 100) g',
      'ck_app',
    );
  }
  await pgQuery(pg17, 'DROP DATABASE IF EXISTS ck_app');
  await pgQuery(pg13, 'DROP DATABASE IF EXISTS ck_extra');
  await pgQuery(pg13, 'CREATE DATABASE ck_extra');
  await pgQuery(pg13, 'CREATE TABLE t (id int PRIMARY KEY)', 'ck_extra');
  await pgQuery(
    pg13,
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ck_norepl') THEN CREATE ROLE ck_norepl LOGIN; END IF; END $$`,
  );
});

afterAll(async () => {
  await stopPostgres(bad);
  for (const s of [pg13, pg15, pg17]) {
    await pgQuery(s, 'DROP DATABASE IF EXISTS ck_app');
    await pgQuery(s, 'DROP DATABASE IF EXISTS ck_extra');
    await pgQuery(s, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  }
  await pgQuery(pg13, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'dbferry\\_%'`);
  await pgQuery(pg13, 'DROP ROLE IF EXISTS ck_norepl');
});

describe('happy path across versions', () => {
  for (const [a, b, db] of [
    ['13', '17', 'ck_app'],
    ['13', '15', 'ck_extra'],
    ['15', '17', 'ck_app'],
  ] as const) {
    it(`${a} -> ${b}: online auto decides replication and ends with Aiven's sentence`, async () => {
      const src = servers.pg[a]!;
      const tgt = servers.pg[b]!;
      await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db}`);
      const r = await check(pgYaml({ name: 'ck-happy', source: src, target: tgt, include: [db], extra: 'mode: online' }));
      expect(r.code, JSON.stringify(r.doc.checks.filter((c) => c.result !== 'Succeeded'))).toBe(0);
      expect(r.doc.result).toBe('Succeeded');
      expect(r.doc.databases).toEqual([
        { dbname: db, method: 'replication', reason: 'method auto: every replication prerequisite passed' },
      ]);
      expect(r.text).toContain('All pre-checks passed successfully, preferred migration method will be [Replication]');
      expect(r.text.indexOf('Instance level')).toBeLessThan(r.text.indexOf(`Database "${db}"`));
      expect(find(r.doc, 'pg.version')?.message).toContain(`-> target ${b}.`);
      expect(r.doc.migration).toMatchObject({ error: null, method: 'replication', status: 'done' });
      // Recorded as validation details on the target.
      const rows = await pgQuery<{ n: number }>(tgt, `SELECT count(*)::int AS n FROM dbferry.validations WHERE migration = 'ck-happy'`);
      expect(rows[0]?.n).toBe(r.doc.checks.length);
      await pgQuery(tgt, 'DROP SCHEMA dbferry CASCADE');
    });
  }
});

describe('replication prerequisites', () => {
  it('wal_level=replica and max_replication_slots=0: auto falls back to dump, loudly, exit 0', async () => {
    const r = await check(pgYaml({ name: 'ck-fallback', source: bad, target: pg17, include: ['ck_app'], extra: 'mode: online' }));
    expect(r.code).toBe(0);
    expect(find(r.doc, 'pg.wal_level')).toMatchObject({
      result: 'Warning',
      hint: "ALTER SYSTEM SET wal_level = 'logical'; then restart the source server.",
    });
    expect(find(r.doc, 'pg.wal_level')?.message).toMatch(/wal_level is replica, logical replication needs logical.*falls back to dump/);
    expect(find(r.doc, 'pg.max_replication_slots')?.result).toBe('Warning');
    expect(find(r.doc, 'pg.max_wal_senders')?.result).toBe('Warning');
    expect(r.doc.databases[0]).toMatchObject({ dbname: 'ck_app', method: 'dump' });
    expect(r.doc.databases[0]?.reason).toMatch(/^method auto fell back to dump: wal_level is replica/);
    expect(r.text).toContain('preferred migration method will be [Dump]');
    expect(r.text).toMatch(/ck_app\s+dump — method auto fell back to dump: wal_level is replica/);
  });

  it('more tables than the source lock table is sized for is a Warning with the setting to raise', async () => {
    await pgQuery(bad, 'DROP DATABASE IF EXISTS ck_locks');
    await pgQuery(bad, 'CREATE DATABASE ck_locks');
    await pgQuery(
      bad,
      `DO $$ BEGIN FOR i IN 1..400 LOOP EXECUTE format('CREATE TABLE %I (id int)', 't' || i); COMMIT; END LOOP; END $$`,
      'ck_locks',
    );
    const r = await check(pgYaml({ name: 'ck-locks', source: bad, target: pg17, include: ['ck_locks', 'ck_app'] }));
    // 10 locks × (20 connections + 3 autovacuum workers + 1 + 16 worker processes + 0 WAL senders) = 400 < 400 + 100.
    expect(find(r.doc, 'pg.db.lock_table', 'ck_locks')).toMatchObject({
      result: 'Warning',
      hint: 'ALTER SYSTEM SET max_locks_per_transaction = 19; then restart the source server.',
    });
    expect(find(r.doc, 'pg.db.lock_table', 'ck_locks')?.message).toMatch(
      /^400 tables, but the source's lock table is sized for about 400 locks/,
    );
    expect(find(r.doc, 'pg.db.lock_table', 'ck_app')?.result).toBe('Succeeded');
    await pgQuery(bad, 'DROP DATABASE ck_locks');
  });

  it('method: replication with the same cluster fails the check instead (exit 1)', async () => {
    const r = await check(
      pgYaml({ name: 'ck-repl', source: bad, target: pg17, include: ['ck_app'], extra: 'mode: online\nmethod: replication' }),
    );
    expect(r.code).toBe(1);
    expect(find(r.doc, 'pg.wal_level')?.result).toBe('Failed');
    expect(find(r.doc, 'pg.max_replication_slots')).toMatchObject({ result: 'Failed' });
    expect(find(r.doc, 'pg.max_replication_slots')?.message).toMatch(/max_replication_slots is 0 with 0 in use: 0 free, 1 needed/);
    expect(r.text).toMatch(/pre-checks? failed/);
    expect(r.doc.migration.error).toMatch(/failed/);
  });

  it('a source user without REPLICATION', async () => {
    const yaml = pgYaml({
      name: 'ck-norepl',
      source: { ...pg13, user: 'ck_norepl' },
      target: pg17,
      include: ['ck_app'],
      extra: 'mode: online\nmethod: replication\nroles:\n  migrate: false',
    });
    const r = await check(yaml);
    expect(r.code).toBe(1);
    expect(find(r.doc, 'pg.source.replication_privilege')).toMatchObject({
      result: 'Failed',
      hint: 'ALTER ROLE ck_norepl WITH REPLICATION;',
    });
  });

  it('a leftover dbferry slot warns; a table without key and a large object are said how they are carried', async () => {
    await pgQuery(pg13, `SELECT pg_create_logical_replication_slot('dbferry_old_ck_app', 'pgoutput')`);
    await pgQuery(pg13, `CREATE TABLE nokey (a int, b text); SELECT lo_from_bytea(0, 'hello'::bytea)`, 'ck_app');
    try {
      const r = await check(pgYaml({ name: 'ck-warn', source: pg13, target: pg17, include: ['ck_app'], extra: 'mode: online' }));
      expect(r.code).toBe(0);
      expect(find(r.doc, 'pg.source.dbferry_slots')).toMatchObject({ result: 'Warning' });
      expect(find(r.doc, 'pg.source.dbferry_slots')?.message).toContain('dbferry_old_ck_app');
      // Key-less tables and large objects are carried (inserts replicate, the rest is re-synced at cutover): said, not warned.
      expect(find(r.doc, 'pg.db.replica_identity', 'ck_app')).toMatchObject({ result: 'Succeeded' });
      expect(find(r.doc, 'pg.db.replica_identity', 'ck_app')?.message).toContain(
        'their inserts replicate; at cutover those changed by UPDATE or DELETE are copied again: public.nokey',
      );
      expect(find(r.doc, 'pg.db.large_objects', 'ck_app')).toMatchObject({
        result: 'Succeeded',
        message: '1 large object(s) are not replicated; at cutover those created, changed or unlinked are synced',
      });
      expect(find(r.doc, 'pg.max_replication_slots')?.message).toContain('1 in use');
    } finally {
      await pgQuery(pg13, `SELECT pg_drop_replication_slot('dbferry_old_ck_app')`);
      await pgQuery(pg13, `DROP TABLE nokey; SELECT lo_unlink(oid) FROM pg_largeobject_metadata`, 'ck_app');
    }
  });
});

/** A database "ck_app" with one table on PostgreSQL 15, used as a non-empty target. */
async function nonEmptyTargetOn15(): Promise<void> {
  await pgQuery(pg15, 'DROP DATABASE IF EXISTS ck_app');
  await pgQuery(pg15, 'CREATE DATABASE ck_app');
  await pgQuery(pg15, 'CREATE TABLE items (id int PRIMARY KEY, v text)', 'ck_app');
}

describe('database level', () => {
  it('an extension missing on the target fails; extensions.exclude leaves it out', async () => {
    // adminpack ships with PostgreSQL 13 and was removed in 17.
    await pgQuery(pg13, 'CREATE EXTENSION IF NOT EXISTS adminpack', 'ck_app');
    try {
      const r = await check(pgYaml({ name: 'ck-ext', source: pg13, target: pg17, include: ['ck_app'] }));
      expect(r.code).toBe(1);
      expect(find(r.doc, 'pg.db.extensions', 'ck_app')).toMatchObject({
        result: 'Failed',
        message: 'extension(s) not available on the target: adminpack',
      });
      expect(find(r.doc, 'pg.db.extensions', 'ck_app')?.hint).toContain('extensions.exclude: [adminpack]');
      const ex = await check(
        pgYaml({ name: 'ck-ext', source: pg13, target: pg17, include: ['ck_app'], extra: 'extensions:\n  exclude: [adminpack]' }),
      );
      expect(find(ex.doc, 'pg.db.extensions', 'ck_app')?.result).toBe('Succeeded');
    } finally {
      await pgQuery(pg13, 'DROP EXTENSION IF EXISTS adminpack', 'ck_app');
    }
  });

  it('a non-empty target database fails without overwrite, warns with it', async () => {
    await nonEmptyTargetOn15();
    const r = await check(pgYaml({ name: 'ck-nonempty', source: pg13, target: pg15, include: ['ck_app'] }));
    expect(r.code).toBe(1);
    expect(find(r.doc, 'pg.db.target_empty', 'ck_app')).toMatchObject({
      result: 'Failed',
      message: 'target database "ck_app" exists with 1 objects',
    });
    const o = await check(
      pgYaml({
        name: 'ck-nonempty',
        source: pg13,
        target: pg15,
        include: ['ck_app'],
        extra: 'databases:\n  include: [ck_app]\n  overwrite: true',
      }).replace('databases:\n  include: ["ck_app"]\n', ''),
    );
    expect(find(o.doc, 'pg.db.target_empty', 'ck_app')?.result).toBe('Warning');
  });

  it('a missing included database is Failed, never skipped; maxTotalSize is enforced', async () => {
    const r = await check(pgYaml({ name: 'ck-missing', source: pg13, target: pg17, include: ['ck_app', 'ck_nope'] }));
    expect(r.code).toBe(1);
    expect(find(r.doc, 'pg.db.exists', 'ck_nope')).toMatchObject({ result: 'Failed' });
    const s = await check(
      pgYaml({ name: 'ck-size', source: pg13, target: pg17, extra: 'databases:\n  include: [ck_app]\n  maxTotalSize: 1MB' }),
    );
    expect(find(s.doc, 'pg.total_size')).toMatchObject({ result: 'Failed' });
  });
});

describe('connections', () => {
  it('the same server under two addresses is Failed', async () => {
    const yaml = pgYaml({ name: 'ck-same', source: bad, target: { ...bad, host: '127.0.0.2' }, include: ['ck_app'] });
    const r = await check(yaml);
    expect(r.code).toBe(1);
    expect(find(r.doc, 'pg.same_server')?.result).toBe('Failed');
  });

  it('wrong password, unreachable port and SSL refused are failed checks naming the server, exit 2 as in every command', async () => {
    await pgQuery(
      pg17,
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbferry_pw') THEN CREATE ROLE dbferry_pw LOGIN PASSWORD 'right-one'; END IF; END $$`,
    );
    const marker = 'Ck-Marker-Pw-55';
    const pw = pgYaml({ name: 'ck-conn', source: pg13, target: { ...pg17, user: 'dbferry_pw' } }).replace(
      '  username: dbferry_pw',
      '  username: dbferry_pw\n  password: ${TPW}',
    );
    const r = await check(pw, [], { TPW: marker });
    expect(r.code).toBe(2);
    expect(find(r.doc, 'pg.target.connectivity')?.message).toBe(
      `authentication failed for target server dbferry_pw@127.0.0.1:${pg17.port}: wrong user or password`,
    );
    expect(JSON.stringify(r.doc) + r.text + r.stderr).not.toContain(marker);
    const port = await check(pgYaml({ name: 'ck-conn', source: { ...pg13, port: 1 }, target: pg17 }));
    expect(port.code).toBe(2);
    expect(find(port.doc, 'pg.source.connectivity')?.message).toBe(
      'cannot connect to source server postgres@127.0.0.1:1: connection refused',
    );
    const ssl = await check(
      pgYaml({ name: 'ck-conn', source: pg13, target: pg17 }).replace(/(target:\n(?:.*\n)*?)  ssl: disable/, '$1  ssl: require'),
    );
    expect(ssl.code).toBe(2);
    expect(find(ssl.doc, 'pg.target.ssl')?.result).toBe('Failed');
    expect(find(ssl.doc, 'pg.target.connectivity')?.message).toContain('does not support SSL, but target.ssl is require');
  });
});

describe('state and read-only promise', () => {
  async function snapshot(s: PgServer, db: string): Promise<string> {
    const rows = await pgQuery<{ x: string }>(
      s,
      `SELECT (SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database) || '|' ||
              (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles) || '|' ||
              (SELECT coalesce(string_agg(slot_name, ',' ORDER BY slot_name), '') FROM pg_replication_slots) || '|' ||
              (SELECT coalesce(string_agg(pubname, ',' ORDER BY pubname), '') FROM pg_publication) || '|' ||
              (SELECT coalesce(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY n.nspname, c.relname), '')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')) || '|' ||
              coalesce((SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relname = 'items')::text, '-') AS x`,
      db,
    );
    return rows[0]?.x ?? '';
  }

  it('check and plan change nothing on the source, and only the state store on the target', async () => {
    await pgQuery(pg17, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    const yaml = pgYaml({ name: 'ck-ro', source: pg13, target: pg17, include: ['ck_app'], extra: 'mode: online' });
    const beforeSrc = [await snapshot(pg13, 'ck_app'), await snapshot(pg13, 'postgres')];
    const beforeTgt = await snapshot(pg17, 'postgres');
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', yaml);
    expect((await runCli(['check', file])).code).toBe(0);
    expect((await runCli(['plan', file])).code).toBe(0);
    expect([await snapshot(pg13, 'ck_app'), await snapshot(pg13, 'postgres')]).toEqual(beforeSrc);
    const afterTgt = await snapshot(pg17, 'postgres');
    // Relations (the fifth part) may differ only by the state store's dbferry.* tables.
    const strip = (x: string) =>
      x
        .split('|')
        .map((part, i) =>
          i === 4
            ? part
                .split(',')
                .filter((p) => p !== '' && !p.startsWith('dbferry.'))
                .join(',')
            : part,
        )
        .join('|');
    expect(strip(afterTgt)).toBe(strip(beforeTgt));
    expect(afterTgt).toContain('dbferry.validations:r');
  });

  it('option Validate records the migration as Succeeded or ValidationFailed', async () => {
    await pgQuery(pg17, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    await nonEmptyTargetOn15();
    const ok = await check(pgYaml({ name: 'ck-validate', source: pg13, target: pg17, include: ['ck_app'], extra: 'option: Validate' }));
    expect(ok.code).toBe(0);
    expect(await pgQuery(pg17, `SELECT state, substate FROM dbferry.migrations WHERE name = 'ck-validate'`)).toEqual([
      { state: 'Succeeded', substate: 'Completed' },
    ]);
    const bad2 = await check(pgYaml({ name: 'ck-validate2', source: pg13, target: pg15, include: ['ck_app'], extra: 'option: Validate' }));
    expect(bad2.code).toBe(1);
    expect(await pgQuery(pg15, `SELECT state, substate FROM dbferry.migrations WHERE name = 'ck-validate2'`)).toEqual([
      { state: 'ValidationFailed', substate: 'Failed' },
    ]);
    const st = await runCli([
      'status',
      writeFile(
        tempDir(),
        'm.yaml',
        pgYaml({ name: 'ck-validate2', source: pg13, target: pg15, include: ['ck_app'], extra: 'option: Validate' }),
      ),
    ]);
    expect(st.stdout).toContain('ValidationFailed / Failed');
    expect(st.stdout).toMatch(/validation: \d+ succeeded, \d+ warnings, 1 failed/);
  });

  it('apply with ValidateAndMigrate stops before copying on a failed check', async () => {
    await pgQuery(pg15, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    const dir = tempDir();
    const file = writeFile(
      dir,
      'migration.yaml',
      pgYaml({ name: 'ck-apply', source: bad, target: pg15, include: ['ck_app'], extra: 'mode: online\nmethod: replication' }),
    );
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pre-migration check\(s\) failed; nothing was copied/);
    expect(await pgQuery(pg15, `SELECT state, substate FROM dbferry.migrations WHERE name = 'ck-apply'`)).toEqual([
      { state: 'ValidationFailed', substate: 'Failed' },
    ]);
    await pgQuery(pg15, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  });

  it('plan includes the check results and the method per database', async () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      'migration.yaml',
      pgYaml({ name: 'ck-plan', source: bad, target: pg17, include: ['ck_app'], extra: 'mode: online' }),
    );
    const r = await runCli(['plan', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Pre-migration check:');
    expect(r.stdout).toMatch(/method: dump — method auto fell back to dump: wal_level is replica/);
    expect(r.stdout).toMatch(/warn pg\.wal_level/);
  });
});
