/**
 * The read-only promise: validate, plan, check, status and list change nothing on the source,
 * proved by catalog and statistics snapshots taken before and after (PostgreSQL: catalog
 * description, pg_stat_database and pg_stat_user_tables write counters, slots, publications,
 * roles, databases; MySQL: binary log position, GTID position, catalog of tables, routines and
 * users).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription } from '../setup/compare.js';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer, PgServer } from '../setup/servers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'ro_db';

/** The commands that promise to be read-only, with and without --json. */
const COMMANDS = (file: string): string[][] => [
  ['validate', file],
  ['plan', file],
  ['plan', file, '--json'],
  ['check', file],
  ['check', file, '--json'],
  ['status', file],
  ['status', file, '--json'],
  ['list', file],
  ['list', file, '--filter', 'all'],
];

async function pgSnapshot(s: PgServer): Promise<unknown> {
  // dbferry's backends flush their statistics when they exit: wait until they are gone.
  for (let i = 0; i < 200; i++) {
    const left = await pgQuery<{ n: number }>(s, `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'dbferry%'`);
    if (left[0]?.n === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    catalog: await catalogDescription(s, DB, true),
    databases: await pgQuery(s, `SELECT datname, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = '${DB}'`),
    tables: await pgQuery(s, `SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup FROM pg_stat_user_tables ORDER BY 1`, DB),
    slots: await pgQuery(s, 'SELECT slot_name FROM pg_replication_slots ORDER BY 1'),
    publications: await pgQuery(s, 'SELECT pubname FROM pg_publication ORDER BY 1', DB),
    roles: await pgQuery(s, 'SELECT rolname, rolcanlogin, rolreplication FROM pg_roles ORDER BY 1'),
    dbs: await pgQuery(s, 'SELECT datname FROM pg_database ORDER BY 1'),
  };
}

async function mySnapshot(s: MariaServer): Promise<unknown> {
  return {
    binlog: (await myQuery<{ File: string; Position: number }>(s, 'SHOW MASTER STATUS')).map((r) => `${r.File}:${r.Position}`),
    gtid: await myQuery(s, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'),
    tables: await myQuery(
      s,
      `SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN ('information_schema', 'performance_schema') ORDER BY 1, 2`,
    ),
    routines: await myQuery(s, 'SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES ORDER BY 1, 2'),
    users: await myQuery(s, 'SELECT User, Host FROM mysql.user ORDER BY 1, 2'),
    rows: await myQuery(s, `SELECT COUNT(*) AS n, SUM(v) AS s FROM ${DB}.t`),
  };
}

describe('read-only commands change nothing on the source', () => {
  beforeAll(async () => {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
    await pgQuery(src, `CREATE DATABASE ${DB}`);
    await pgQuery(
      src,
      'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g; CREATE TABLE nokey (a int)',
      DB,
    );
    // Autovacuum's ANALYZE would write pg_statistic rows (counted in pg_stat_database) at a moment
    // of its choosing: analyze now and keep it away, so every write seen is dbferry's.
    await pgQuery(src, 'ALTER TABLE t SET (autovacuum_enabled = false); ALTER TABLE nokey SET (autovacuum_enabled = false)', DB);
    await pgQuery(src, 'VACUUM ANALYZE', DB);
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB}`);
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    await myQuery(
      m1,
      `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}; CREATE TABLE ${DB}.t (id int PRIMARY KEY, v int); INSERT INTO ${DB}.t SELECT seq, seq FROM ${DB}.seq_1_to_1000`,
    );
    await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
  });
  afterAll(async () => {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB}`);
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}`);
    await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
  });

  it('PostgreSQL: before any migration and after one (state store present), offline and online', async () => {
    const dir = tempDir();
    const offline = writeFile(dir, 'offline.yaml', pgYaml({ name: 'ro-pg', source: src, target: tgt, include: [DB] }));
    const online = writeFile(
      dir,
      'online.yaml',
      pgYaml({ name: 'ro-pg-online', source: src, target: tgt, include: [DB], extra: 'mode: online' }),
    );
    let runs = 0;
    for (const phase of ['before', 'after'] as const) {
      if (phase === 'after') expect((await runCli(['apply', offline, '--yes'])).code).toBe(0);
      const before = await pgSnapshot(src);
      for (const file of [offline, online]) {
        for (const args of COMMANDS(file)) {
          const r = await runCli(args);
          runs++;
          expect(r.stderr, args.join(' ')).not.toMatch(/unexpected error/);
        }
      }
      expect(await pgSnapshot(src), phase).toEqual(before);
    }
    expect(runs).toBe(36);
    // The snapshot sees a change (control): one new table.
    const still = await pgSnapshot(src);
    await pgQuery(src, 'CREATE TABLE probe (id int)', DB);
    expect(await pgSnapshot(src)).not.toEqual(still);
  });

  it('MySQL: before any migration and after one, offline and online', async () => {
    const dir = tempDir();
    const offline = writeFile(dir, 'offline.yaml', mysqlYaml({ name: 'ro-my', source: m1, target: m2, include: [DB] }));
    const online = writeFile(
      dir,
      'online.yaml',
      mysqlYaml({ name: 'ro-my-online', source: m1, target: m2, include: [DB], extra: 'mode: online' }),
    );
    for (const phase of ['before', 'after'] as const) {
      if (phase === 'after') expect((await runCli(['apply', offline, '--yes'])).code).toBe(0);
      const before = await mySnapshot(m1);
      for (const file of [offline, online])
        for (const args of COMMANDS(file)) expect((await runCli(args)).stderr, args.join(' ')).not.toMatch(/unexpected error/);
      expect(await mySnapshot(m1), phase).toEqual(before);
    }
    // The snapshot sees a change (control): one updated row.
    const still = await mySnapshot(m1);
    await myQuery(m1, `UPDATE ${DB}.t SET v = v + 1 WHERE id = 1`);
    expect(await mySnapshot(m1)).not.toEqual(still);
  });
});
