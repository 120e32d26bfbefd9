/** The spine end to end on real servers: plan, apply registration, status, list, errors. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';

const servers = inject('servers');
const src = servers.pg['13'] ?? Object.values(servers.pg)[0]!;
const tgt = servers.pg['17'] ?? Object.values(servers.pg)[1]!;
const [maria1, maria2] = servers.mariadb as [(typeof servers.mariadb)[0], (typeof servers.mariadb)[0]];

async function resetState(): Promise<void> {
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

beforeAll(async () => {
  for (const db of ['fa_one', 'fa_two']) {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
    await pgQuery(src, `CREATE DATABASE ${db}`);
    await pgQuery(
      src,
      'CREATE TABLE t (id int primary key, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g',
      db,
    );
  }
  await pgQuery(src, 'CREATE SCHEMA s2; CREATE TABLE s2.u (id int)', 'fa_two');
  await pgQuery(tgt, 'DROP DATABASE IF EXISTS fa_two');
  await pgQuery(tgt, 'CREATE DATABASE fa_two');
  await pgQuery(tgt, 'CREATE TABLE leftover (id int)', 'fa_two');
  await resetState();
});

afterAll(async () => {
  for (const db of ['fa_one', 'fa_two']) {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db}`);
  }
  await resetState();
});

describe(`plan against PostgreSQL ${src.major} -> ${tgt.major}`, () => {
  it('shows versions, databases with sizes and what exists on the target', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-plan', source: src, target: tgt, include: ['fa_one', 'fa_two'] }));
    const r = await runCli(['plan', file]);
    expect(r.stdout).toContain(`PostgreSQL ${src.major}.`);
    expect(r.stdout).toContain(`PostgreSQL ${tgt.major}.`);
    expect(r.stdout).toMatch(/database "fa_one"\s+[\d.]+ MB, 1 table in 1 schema, ~[\d.]+k? rows/);
    expect(r.stdout).toMatch(/database "fa_two"\s+[\d.]+ MB, 2 tables in 2 schemas/);
    expect(r.stdout).toContain('"fa_one" on the target');
    expect(r.stdout).toContain('exists on the target with content: apply will refuse it');
    expect(r.code).toBe(1);
    const j = await runCli(['plan', file, '--json']);
    const plan = JSON.parse(j.stdout) as {
      kind: string;
      databases: { name: string; action: string; sizeBytes: number }[];
      fingerprint: { sourceSchema: string };
    };
    expect(plan.kind).toBe('discovered');
    expect(plan.databases.map((d) => [d.name, d.action])).toEqual([
      ['fa_one', 'create'],
      ['fa_two', 'refuse-non-empty'],
    ]);
    expect(plan.databases[0]?.sizeBytes).toBeGreaterThan(1000);
    expect(plan.fingerprint.sourceSchema).toMatch(/^sha256:/);
  });

  it('is read-only: no state store and no objects are created on either server', async () => {
    await resetState();
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-ro', source: src, target: tgt, include: ['fa_one'] }));
    const before = await pgQuery(src, `SELECT count(*)::int AS n FROM pg_class`, 'fa_one');
    await runCli(['plan', file]);
    await runCli(['status', file]);
    await runCli(['list', file]);
    expect(await pgQuery(tgt, `SELECT to_regnamespace('dbferry') AS s`)).toEqual([{ s: null }]);
    expect(await pgQuery(tgt, `SELECT datname FROM pg_database WHERE datname = 'fa_one'`)).toEqual([]);
    expect(await pgQuery(src, `SELECT count(*)::int AS n FROM pg_class`, 'fa_one')).toEqual(before);
  });

  it('a missing included database is reported, not skipped', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-missing', source: src, target: tgt, include: ['fa_one', 'fa_nope'] }));
    const r = await runCli(['plan', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('database "fa_nope" is included but missing on the source');
  });
});

describe('apply, status and list through the state store', () => {
  it('list and status read an absent store as "no migrations"', async () => {
    await resetState();
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-apply', source: src, target: tgt, include: ['fa_one'] }));
    const l = await runCli(['list', file]);
    expect(l.code).toBe(0);
    expect(l.stdout).toBe('No migrations recorded on the target.\n');
    const s = await runCli(['status', file]);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('no migration named "fa-apply" is recorded');
  });

  it('apply refuses to run without --yes when not in a terminal', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-apply', source: src, target: tgt, include: ['fa_one'] }));
    const r = await runCli(['apply', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes');
  });

  it('apply migrates, and status and list show it', async () => {
    await resetState();
    await pgQuery(tgt, 'DROP DATABASE IF EXISTS fa_one');
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-apply', source: src, target: tgt, include: ['fa_one'] }));
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Registered migration "fa-apply"');
    expect(r.stderr).toContain('Migration "fa-apply" succeeded');
    const rows = await pgQuery<{ state: string; substate: string; error: string | null }>(
      tgt,
      'SELECT state, substate, error FROM dbferry.migrations',
    );
    expect(rows).toEqual([{ state: 'Succeeded', substate: 'Completed', error: null }]);
    expect(await pgQuery(tgt, 'SELECT count(*)::int AS n FROM t', 'fa_one')).toEqual([{ n: 1000 }]);
    const s = await runCli(['status', file, '--json']);
    const doc = JSON.parse(s.stdout) as {
      state: string;
      migration: { status: string; method: string };
      migration_detail: unknown[];
      databases: { tables: { total: number; completed: number } }[];
    };
    expect(doc.state).toBe('Succeeded');
    expect(doc.migration).toMatchObject({ status: 'done', method: 'pg_dump' });
    expect(doc.migration_detail).toEqual([{ dbname: 'fa_one', error: null, method: 'pg_dump', status: 'done' }]);
    expect(doc.databases[0]?.tables).toMatchObject({ total: 1, completed: 1 });
    const l = await runCli(['list', file, '--filter', 'all']);
    expect(l.stdout).toMatch(/fa-apply\s+Succeeded\s+Completed\s+postgresql\s+offline/);
    const active = await runCli(['list', file, '--filter', 'active']);
    expect(active.stdout).toBe('No migrations recorded on the target.\n');
    // The name is now taken on this target.
    const again = await runCli(['apply', file, '--yes']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists on the target');
    await pgQuery(tgt, 'DROP DATABASE IF EXISTS fa_one');
  });

  it('apply refuses a non-empty target database before changing anything', async () => {
    await resetState();
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-nonempty', source: src, target: tgt, include: ['fa_two'] }));
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FAIL pg.db.target_empty           target database "fa_two" exists with 1 objects');
    expect(r.stderr).toContain('1 pre-migration check(s) failed; nothing was copied');
    expect(await pgQuery(tgt, `SELECT state FROM dbferry.migrations WHERE name = 'fa-nonempty'`)).toEqual([{ state: 'ValidationFailed' }]);
    expect(await pgQuery(tgt, `SELECT relname FROM pg_class WHERE relname IN ('leftover', 't', 'u') ORDER BY 1`, 'fa_two')).toEqual([
      { relname: 'leftover' },
    ]);
    // Option Migrate skips the check: the same guard stops it before anything is written.
    await resetState();
    const m = writeFile(
      dir,
      'migrate.yaml',
      pgYaml({ name: 'fa-nonempty', source: src, target: tgt, include: ['fa_two'], extra: 'option: Migrate' }),
    );
    const r2 = await runCli(['apply', m, '--yes']);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('target database "fa_two" already has content');
    expect(await pgQuery(tgt, `SELECT to_regnamespace('dbferry') AS s`)).toEqual([{ s: null }]);
  });

  it('a saved plan is refused when the config changed', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-saved', source: src, target: tgt, include: ['fa_one'] }));
    const p = await runCli(['plan', file, '--out', join(dir, 'plan.json')], { cwd: dir });
    expect(p.stderr).toContain('Saved the plan to');
    const saved = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')) as { configFile: string };
    expect(saved.configFile).toBe('migration.yaml');
    writeFileSync(file, readFileSync(file, 'utf8') + '\nverify: checksums\n');
    const r = await runCli(['apply', join(dir, 'plan.json')], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the configuration changed since it was planned');
  });
});

describe('MySQL: plan and state store on MariaDB', () => {
  beforeAll(async () => {
    await myQuery(
      maria1,
      'DROP DATABASE IF EXISTS fa_shop; CREATE DATABASE fa_shop; CREATE TABLE fa_shop.items (id int primary key, name varchar(50)); INSERT INTO fa_shop.items VALUES (1, "a"), (2, "b")',
    );
    await myQuery(maria2, 'DROP DATABASE IF EXISTS dbferry; DROP DATABASE IF EXISTS fa_shop');
  });
  afterAll(async () => {
    await myQuery(maria1, 'DROP DATABASE IF EXISTS fa_shop');
    await myQuery(maria2, 'DROP DATABASE IF EXISTS dbferry; DROP DATABASE IF EXISTS fa_shop');
  });

  it('plans, migrates and records the migration in the dbferry database', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', mysqlYaml({ name: 'fa-mysql', source: maria1, target: maria2 }));
    const p = await runCli(['plan', file]);
    expect(p.stdout).toContain('MariaDB 10.');
    expect(p.stdout).toMatch(/database "fa_shop"\s+[\d.]+ kB, 1 table in 1 schema/);
    expect(p.stdout).not.toMatch(/database "(mysql|sys|information_schema|performance_schema)"/);
    expect(p.code).toBe(0);
    const a = await runCli(['apply', file, '--yes']);
    expect(a.code, a.stderr).toBe(0);
    const rows = await myQuery<{ name: string; state: string }>(maria2, 'SELECT name, state FROM dbferry.migrations');
    expect(rows).toEqual([{ name: 'fa-mysql', state: 'Succeeded' }]);
    expect(await myQuery(maria2, 'SELECT id, name FROM fa_shop.items ORDER BY id')).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    const s = await runCli(['status', file, '--json']);
    expect(JSON.parse(s.stdout)).toMatchObject({
      name: 'fa-mysql',
      engine: 'mysql',
      migration: { status: 'done', method: 'mysqldump', seconds_behind_master: null },
    });
  });
});

describe('connection problems: one line naming the server, exit 2, never the password', () => {
  const marker = 'Marker-Pw-9f3a';
  it('refused port', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'fa-err', source: { ...src, port: 1 }, target: tgt }) + `\n`);
    const r = await runCli(['plan', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot connect to source server postgres@127.0.0.1:1: connection refused`);
  });

  it('wrong password (PostgreSQL, scram)', async () => {
    await pgQuery(
      tgt,
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbferry_pw') THEN CREATE ROLE dbferry_pw LOGIN PASSWORD 'right-one'; END IF; END $$`,
    );
    const dir = tempDir();
    const yaml = pgYaml({ name: 'fa-err', source: src, target: { ...tgt, user: 'dbferry_pw' } }).replace(
      '  username: dbferry_pw',
      `  username: dbferry_pw\n  password: \${TPW}`,
    );
    const file = writeFile(dir, 'migration.yaml', yaml);
    const r = await runCli(['plan', file], { env: { TPW: marker } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`authentication failed for target server dbferry_pw@127.0.0.1:${tgt.port}`);
    expect(r.stdout + r.stderr).not.toContain(marker);
  });

  it('unknown maintenance database', async () => {
    const dir = tempDir();
    const yaml = pgYaml({ name: 'fa-err', source: src, target: tgt }).replace(/target:\n/, 'target:\n  dbname: no_such_db\n');
    const r = await runCli(['plan', writeFile(dir, 'migration.yaml', yaml)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`target server postgres@127.0.0.1:${tgt.port}: database "no_such_db" does not exist`);
  });

  it('wrong password (MariaDB)', async () => {
    await myQuery(maria2, `CREATE USER IF NOT EXISTS 'fa_user'@'%' IDENTIFIED BY 'right-one'`);
    const dir = tempDir();
    const yaml = mysqlYaml({ name: 'fa-err', source: maria1, target: { ...maria2, user: 'fa_user' } }).replace(
      '  username: fa_user',
      `  username: fa_user\n  password: \${TPW}`,
    );
    const r = await runCli(['plan', writeFile(dir, 'migration.yaml', yaml)], { env: { TPW: marker } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`authentication failed for target server fa_user@127.0.0.1:${maria2.port}`);
    expect(r.stdout + r.stderr).not.toContain(marker);
  });
});
