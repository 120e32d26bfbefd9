/**
 * Selection that says what it matched: glob patterns in databases, schemas and tables; the plan
 * lists what each entry matched; an entry that matches nothing fails plan, check and apply
 * (exit 1, naming it) and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];

async function resetTarget(): Promise<void> {
  for (const db of ['sel_one', 'sel_two']) await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

beforeAll(async () => {
  for (const db of ['sel_one', 'sel_two', 'other_db']) {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
    await pgQuery(src, `CREATE DATABASE ${db}`);
    await pgQuery(
      src,
      `CREATE SCHEMA tenant_a; CREATE SCHEMA tenant_b; CREATE SCHEMA internal;
       CREATE TABLE tenant_a.orders (id int PRIMARY KEY); CREATE TABLE tenant_a.log_2024 (id int); CREATE TABLE tenant_a.log_2025 (id int);
       CREATE TABLE tenant_b.orders (id int PRIMARY KEY); CREATE TABLE internal.secrets (id int);
       INSERT INTO tenant_a.orders SELECT generate_series(1, 10); INSERT INTO tenant_a.log_2024 SELECT generate_series(1, 5);
       INSERT INTO tenant_a.log_2025 SELECT generate_series(1, 5); INSERT INTO tenant_b.orders SELECT generate_series(1, 7); INSERT INTO internal.secrets VALUES (1);`,
      db,
    );
  }
  await resetTarget();
  await myQuery(
    m1,
    `DROP DATABASE IF EXISTS sel_my; CREATE DATABASE sel_my; CREATE TABLE sel_my.orders (id int PRIMARY KEY); CREATE TABLE sel_my.log_a (id int); CREATE TABLE sel_my.log_b (id int);
    INSERT INTO sel_my.orders VALUES (1), (2); INSERT INTO sel_my.log_a VALUES (1); INSERT INTO sel_my.log_b VALUES (1);`,
  );
  await myQuery(m2, 'DROP DATABASE IF EXISTS sel_my; DROP DATABASE IF EXISTS dbferry');
});

afterAll(async () => {
  await resetTarget();
  for (const db of ['sel_one', 'sel_two', 'other_db']) await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
  await myQuery(m1, 'DROP DATABASE IF EXISTS sel_my');
  await myQuery(m2, 'DROP DATABASE IF EXISTS sel_my; DROP DATABASE IF EXISTS dbferry');
});

function pgConfig(name: string, extra: string): string {
  return writeFile(
    tempDir(),
    'migration.yaml',
    pgYaml({ name, source: src, target: tgt, include: ['sel_*'], extra: `roles:\n  migrate: false\n${extra}` }),
  );
}

describe('selection with patterns (PostgreSQL)', () => {
  it('databases, schemas and tables by pattern: the plan lists the matches, apply migrates exactly them', async () => {
    await resetTarget();
    const file = pgConfig('sel-ok', 'schemas:\n  include: [tenant_*]\ntables:\n  skip: [tenant_a.log_*]');
    const plan = await runCli(['plan', file]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('database "sel_one"');
    expect(plan.stdout).toContain('database "sel_two"');
    expect(plan.stdout).not.toContain('database "other_db"');
    expect(plan.stdout).toContain(
      'schemas.include "tenant_*" matched 4: sel_one.tenant_a, sel_one.tenant_b, sel_two.tenant_a, sel_two.tenant_b',
    );
    expect(plan.stdout).toContain(
      'tables.skip "tenant_a.log_*" matched 4: sel_one.tenant_a.log_2024, sel_one.tenant_a.log_2025, sel_two.tenant_a.log_2024, sel_two.tenant_a.log_2025',
    );
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    for (const db of ['sel_one', 'sel_two']) {
      const schemas = (
        await pgQuery<{ n: string }>(
          tgt,
          `SELECT nspname AS n FROM pg_namespace WHERE nspname IN ('tenant_a', 'tenant_b', 'internal') ORDER BY 1`,
          db,
        )
      ).map((x) => x.n);
      expect(schemas).toEqual(['tenant_a', 'tenant_b']);
      const h = await dataHashes(tgt, db);
      const s = await dataHashes(src, db);
      expect(h['tenant_a.log_2024']).toBe('0:0');
      expect(h['tenant_a.orders']).toBe(s['tenant_a.orders']);
      expect(h['tenant_b.orders']).toBe(s['tenant_b.orders']);
    }
    expect(await pgQuery(tgt, `SELECT 1 FROM pg_database WHERE datname = 'other_db'`)).toEqual([]);
  });

  it('an entry that matches nothing fails plan, check and apply, naming it; nothing changes', async () => {
    await resetTarget();
    const file = pgConfig('sel-typo', 'tables:\n  include: [public.tt, tenant_x*.orders]\nschemas:\n  exclude: [nope]');
    const plan = await runCli(['plan', file]);
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain('tables.include "public.tt" matches nothing on the source');
    const check = await runCli(['check', file, '--json']);
    expect(check.code).toBe(1);
    const failed = (JSON.parse(check.stdout) as { checks: { id: string; result: string; message: string }[] }).checks.find(
      (c) => c.id === 'pg.selection',
    );
    expect(failed).toMatchObject({ result: 'Failed' });
    expect(failed?.message).toBe(
      'schemas.exclude "nope" matches nothing on the source; tables.include "public.tt" matches nothing on the source; tables.include "tenant_x*.orders" matches nothing on the source',
    );
    const apply = await runCli(['apply', file, '--yes']);
    expect(apply.code).toBe(1);
    for (const db of ['sel_one', 'sel_two']) expect(await pgQuery(tgt, `SELECT 1 FROM pg_database WHERE datname = '${db}'`)).toEqual([]);
    const noDb = await runCli([
      'plan',
      writeFile(tempDir(), 'migration.yaml', pgYaml({ name: 'sel-nodb', source: src, target: tgt, include: ['nomatch_*'] })),
    ]);
    expect(noDb.code).toBe(1);
    expect(noDb.stdout).toContain('databases.include pattern "nomatch_*" matches no database on the source');
  });
});

describe('selection with patterns (MariaDB)', () => {
  it('tables.skip by pattern; an unmatched entry fails the check', async () => {
    const ok = writeFile(
      tempDir(),
      'migration.yaml',
      mysqlYaml({ name: 'sel-my', source: m1, target: m2, include: ['sel_*'], extra: 'tables:\n  skip: [log_*]' }),
    );
    const r = await runCli(['apply', ok, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      await myQuery(
        m2,
        'SELECT (SELECT COUNT(*) FROM sel_my.orders) AS o, (SELECT COUNT(*) FROM sel_my.log_a) AS a, (SELECT COUNT(*) FROM sel_my.log_b) AS b',
      ),
    ).toEqual([{ o: 2, a: 0, b: 0 }]);
    const bad = writeFile(
      tempDir(),
      'migration.yaml',
      mysqlYaml({ name: 'sel-my-bad', source: m1, target: m2, include: ['sel_my'], extra: 'tables:\n  skip: [nothing_*]' }),
    );
    const c = await runCli(['check', bad, '--json']);
    expect(c.code).toBe(1);
    expect(
      (JSON.parse(c.stdout) as { checks: { id: string; result: string; message: string }[] }).checks.find((x) => x.id === 'my.selection'),
    ).toMatchObject({ result: 'Failed', message: 'tables.skip "nothing_*" matches nothing on the source' });
  });
});
