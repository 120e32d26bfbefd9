/**
 * Managed-style targets: the target user is not a superuser but has CREATEDB and CREATEROLE, as
 * Azure (azure_pg_admin), Aiven (avnadmin), RDS (rds_superuser) and Cloud SQL hand out. The source
 * has pagila-like ownership: objects owned by the superuser postgres, by a role excluded from the
 * migration and by an application role; grants to roles; trusted extensions. Offline and online,
 * 13 -> 17 and 15 -> 15, roles migrated and not.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { PgServer } from '../setup/servers.js';

const servers = inject('servers');
const DB = 'managed_db';
const ADMIN = 'managed_admin';

const SOURCE_SQL = `
CREATE EXTENSION pgcrypto; CREATE EXTENSION hstore; CREATE EXTENSION citext; CREATE EXTENSION btree_gist;
CREATE SCHEMA app AUTHORIZATION mng_app;
CREATE TABLE public.owned_by_postgres (id int PRIMARY KEY, h hstore, secret bytea DEFAULT gen_random_bytes(8));
INSERT INTO public.owned_by_postgres (id, h) SELECT g, hstore('k', g::text) FROM generate_series(1, 200) g;
CREATE TABLE app.orders (id int PRIMARY KEY, email citext, during tsrange, EXCLUDE USING gist (id WITH =, during WITH &&));
INSERT INTO app.orders SELECT g, 'U' || g || '@x', tsrange('2024-01-01', '2024-01-02') FROM generate_series(1, 300) g;
ALTER TABLE app.orders OWNER TO mng_app;
CREATE TABLE app.owned_by_excluded (id int PRIMARY KEY);
INSERT INTO app.owned_by_excluded VALUES (1), (2);
ALTER TABLE app.owned_by_excluded OWNER TO mng_excluded;
CREATE FUNCTION public.f_postgres() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE VIEW app.v AS SELECT id FROM app.orders;
ALTER VIEW app.v OWNER TO mng_app;
CREATE SEQUENCE public.seq_postgres;
SELECT setval('public.seq_postgres', 77);
GRANT SELECT ON app.orders TO mng_reader;
GRANT SELECT ON public.owned_by_postgres TO mng_reader, mng_excluded;
GRANT USAGE ON SCHEMA app TO mng_reader;
`;

async function prepareSource(s: PgServer): Promise<void> {
  await pgQuery(s, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(
    s,
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mng_app') THEN CREATE ROLE mng_app LOGIN; END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mng_reader') THEN CREATE ROLE mng_reader NOLOGIN; END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mng_excluded') THEN CREATE ROLE mng_excluded LOGIN; END IF;
     END $$;
     GRANT mng_reader TO mng_app;`,
  );
  await pgQuery(s, `CREATE DATABASE ${DB}`);
  await pgQuery(s, SOURCE_SQL, DB);
}

/** A fresh target side: no database, no state, no roles of the test, and the managed admin. */
async function prepareTarget(t: PgServer): Promise<void> {
  for (const { subname } of await pgQuery<{ subname: string }>(t, 'SELECT subname FROM pg_subscription')) {
    await pgQuery(
      t,
      `ALTER SUBSCRIPTION "${subname}" DISABLE; ALTER SUBSCRIPTION "${subname}" SET (slot_name = NONE); DROP SUBSCRIPTION "${subname}"`,
      DB,
    ).catch(() => undefined);
  }
  await pgQuery(t, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(t, 'DROP DATABASE IF EXISTS defaultdb WITH (FORCE)');
  for (const r of ['mng_app', 'mng_reader', 'mng_excluded', ADMIN]) await pgQuery(t, `DROP ROLE IF EXISTS ${r}`);
  await pgQuery(t, `CREATE ROLE ${ADMIN} LOGIN CREATEDB CREATEROLE`);
  // As Aiven gives avnadmin defaultdb: the admin's own database, where dbferry keeps its state.
  await pgQuery(t, `CREATE DATABASE defaultdb OWNER ${ADMIN}`);
}

const pairs: [string, string][] = [
  ['13', '17'],
  ['15', '15b'],
];

for (const [sm, tm] of pairs) {
  describe(`managed target, PostgreSQL ${sm} -> ${tm.replace('b', '')}`, () => {
    let src: PgServer;
    let tgt: PgServer;
    beforeAll(async () => {
      src = servers.pg[sm]!;
      tgt = tm === '15b' ? await (await import('../setup/servers.js')).startPostgres({ major: 15 }) : servers.pg[tm]!;
      await prepareSource(src);
    });
    afterAll(async () => {
      await prepareTarget(tgt);
      await pgQuery(tgt, 'DROP DATABASE IF EXISTS defaultdb WITH (FORCE)');
      await pgQuery(tgt, `DROP ROLE IF EXISTS ${ADMIN}`);
      if (tm === '15b') await (await import('../setup/servers.js')).stopPostgres(tgt);
      await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
    });

    it('the check fails up front when the target user may not keep the state, naming the fix', async () => {
      await prepareTarget(tgt);
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        pgYaml({ name: 'managed-nostore', source: src, target: { ...tgt, user: ADMIN }, include: [DB], extra: 'roles:\n  migrate: false' }),
      );
      const r = await runCli(['check', file, '--json']);
      expect(r.code).toBe(1);
      const checks = (JSON.parse(r.stdout) as { checks: { id: string; result: string; hint: string }[] }).checks;
      expect(checks.find((c) => c.id === 'pg.target.state_store')).toMatchObject({
        result: 'Failed',
        hint: expect.stringContaining(`GRANT CREATE ON DATABASE postgres TO ${ADMIN}`),
      });
    });

    for (const roles of [true, false]) {
      it(`offline, roles.migrate ${roles}: everything arrives, ownership the target user cannot give stays with it`, async () => {
        await prepareTarget(tgt);
        const file = writeFile(
          tempDir(),
          'migration.yaml',
          pgYaml({
            name: `managed-${roles}`,
            source: src,
            target: { ...tgt, user: ADMIN },
            include: [DB],
            extra: `roles:\n  migrate: ${roles}\n  exclude: [mng_excluded]`,
          }).replace(`username: ${ADMIN}`, `username: ${ADMIN}\n  dbname: defaultdb`),
        );
        const check = await runCli(['check', file]);
        expect(check.code, check.stdout + check.stderr).toBe(0);
        const plan = await runCli(['plan', file]);
        if (roles) expect(plan.stdout).toMatch(/roles not created: .*mng_excluded \(roles\.exclude\).*postgres \(superuser\)/);
        // The plan says whose objects the target user will own, and which grants are skipped.
        expect(plan.stdout).toMatch(
          roles
            ? /owned by the target user managed_admin instead: the objects of mng_excluded \(1\), postgres \(\d+\)/
            : /owned by the target user managed_admin instead: the objects of mng_app \(\d+\), mng_excluded \(1\), postgres \(\d+\)/,
        );
        expect(plan.stdout).toContain(
          roles
            ? 'grants skipped (role not on the target): to mng_excluded'
            : 'grants skipped (role not on the target): to mng_app, mng_excluded, mng_reader',
        );
        const r = await runCli(['apply', file, '--yes']);
        expect(r.code, r.stderr).toBe(0);
        expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
        const owners = Object.fromEntries(
          (
            await pgQuery<{ rel: string; owner: string }>(
              tgt,
              `SELECT relname AS rel, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('owned_by_postgres', 'orders', 'owned_by_excluded', 'v', 'seq_postgres')`,
              DB,
            )
          ).map((x) => [x.rel, x.owner]),
        );
        expect(owners).toEqual({
          owned_by_postgres: ADMIN,
          orders: roles ? 'mng_app' : ADMIN,
          owned_by_excluded: ADMIN,
          v: roles ? 'mng_app' : ADMIN,
          seq_postgres: ADMIN,
        });
        expect(
          (
            await pgQuery<{ n: string }>(
              tgt,
              `SELECT count(*)::text AS n FROM pg_extension WHERE extname IN ('pgcrypto', 'hstore', 'citext', 'btree_gist')`,
              DB,
            )
          )[0]?.n,
        ).toBe('4');
        if (roles) {
          expect(await pgQuery(tgt, `SELECT has_table_privilege('mng_reader', 'app.orders', 'SELECT') AS g`, DB)).toEqual([{ g: true }]);
          expect(await pgQuery(tgt, `SELECT pg_has_role('mng_app', 'mng_reader', 'MEMBER') AS m`)).toEqual([{ m: true }]);
        }
        expect(r.stderr).toMatch(/owned by the target user instead: .*public\.owned_by_postgres \(postgres\)/);
        expect(await pgQuery(tgt, `SELECT last_value::text AS v FROM public.seq_postgres`, DB)).toEqual([{ v: '77' }]);
      });
    }

    it('online: replicates when the target user may subscribe (16+), else method auto falls back to dump loudly', async () => {
      await prepareTarget(tgt);
      // A non-superuser's subscription must authenticate with a password: the source user has one.
      await pgQuery(
        src,
        `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbferry_pw') THEN CREATE ROLE dbferry_pw LOGIN PASSWORD 'right-one'; END IF; END $$; SET password_encryption = 'scram-sha-256'; ALTER ROLE dbferry_pw SUPERUSER PASSWORD 'right-one'`,
      );
      const canSubscribe = tm !== '15b';
      if (canSubscribe) await pgQuery(tgt, `GRANT pg_create_subscription TO ${ADMIN}`);
      try {
        const yaml = pgYaml({
          name: 'managed-online',
          source: { ...src, user: 'dbferry_pw' },
          target: { ...tgt, user: ADMIN },
          include: [DB],
          extra: 'mode: online\nroles:\n  exclude: [mng_excluded]',
        })
          .replace('username: dbferry_pw', 'username: dbferry_pw\n  password: ${SPW}')
          .replace(`username: ${ADMIN}`, `username: ${ADMIN}\n  dbname: defaultdb`);
        const file = writeFile(tempDir(), 'migration.yaml', yaml);
        const env = { SPW: 'right-one' };
        const r = await runCli(['apply', file, '--yes'], { env });
        expect(r.code, r.stderr).toBe(0);
        if (!canSubscribe) {
          expect(r.stderr).toContain('method auto fell back to dump');
          expect(r.stderr).toContain('may not create subscriptions on the target (PostgreSQL < 16 needs superuser)');
          expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
          return;
        }
        expect(r.stderr).toMatch(/Replicating "managed_db"/);
        await pgQuery(
          src,
          `INSERT INTO public.owned_by_postgres (id, h) VALUES (1000, 'a=>b'); UPDATE app.orders SET email = 'changed@x' WHERE id = 7; DELETE FROM app.owned_by_excluded WHERE id = 2`,
          DB,
        );
        const c = await runCli(['cutover', file], { env });
        expect(c.code, c.stderr).toBe(0);
        expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
        expect(await pgQuery(src, `SELECT slot_name FROM pg_replication_slots`)).toEqual([]);
        expect(await pgQuery(src, `SELECT pubname FROM pg_publication`, DB)).toEqual([]);
        expect(await pgQuery(tgt, `SELECT subname FROM pg_subscription`)).toEqual([]);
      } finally {
        await pgQuery(
          src,
          `DELETE FROM public.owned_by_postgres WHERE id = 1000; UPDATE app.orders SET email = 'U7@x' WHERE id = 7; INSERT INTO app.owned_by_excluded VALUES (2) ON CONFLICT DO NOTHING`,
          DB,
        );
        await pgQuery(src, 'ALTER ROLE dbferry_pw NOSUPERUSER');
      }
    });
  });
}

describe('an untrusted extension and a managed target', () => {
  it('fails the check naming the extension and the fix; nothing is created', async () => {
    const src = servers.pg['15']!;
    const tgt = servers.pg['17']!;
    await pgQuery(src, 'DROP DATABASE IF EXISTS untrusted_db');
    await pgQuery(src, 'CREATE DATABASE untrusted_db');
    await pgQuery(src, 'CREATE EXTENSION pg_stat_statements; CREATE TABLE t (id int PRIMARY KEY)', 'untrusted_db');
    await prepareTarget(tgt);
    try {
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        pgYaml({
          name: 'managed-untrusted',
          source: src,
          target: { ...tgt, user: ADMIN },
          include: ['untrusted_db'],
          extra: 'roles:\n  migrate: false',
        }).replace(`username: ${ADMIN}`, `username: ${ADMIN}\n  dbname: defaultdb`),
      );
      const r = await runCli(['check', file, '--json']);
      expect(r.code).toBe(1);
      const ext = (JSON.parse(r.stdout) as { checks: { id: string; result: string; message: string; hint: string }[] }).checks.find(
        (c) => c.id === 'pg.db.extensions',
      );
      expect(ext).toMatchObject({ result: 'Failed', message: expect.stringContaining('pg_stat_statements') });
      expect(ext?.hint).toMatch(/extensions\.exclude|superuser|pre-create/);
      expect((await runCli(['apply', file, '--yes'])).code).toBe(1);
      expect(await pgQuery(tgt, `SELECT 1 FROM pg_database WHERE datname = 'untrusted_db'`)).toEqual([]);
    } finally {
      await pgQuery(src, 'DROP DATABASE IF EXISTS untrusted_db');
      await prepareTarget(tgt);
      await pgQuery(tgt, 'DROP DATABASE IF EXISTS defaultdb WITH (FORCE)');
      await pgQuery(tgt, `DROP ROLE IF EXISTS ${ADMIN}`);
    }
  });
});

describe('a source user that is not a superuser', () => {
  it('with pg_read_all_data (14+) migrates offline; without it the check names the grants to add', async () => {
    const src = servers.pg['15']!;
    const tgt = servers.pg['17']!;
    await prepareSource(src);
    await prepareTarget(tgt);
    await pgQuery(src, `DROP ROLE IF EXISTS mng_src; CREATE ROLE mng_src LOGIN`);
    try {
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        pgYaml({
          name: 'managed-src',
          source: { ...src, user: 'mng_src' },
          target: tgt,
          include: [DB],
          extra: 'roles:\n  exclude: [mng_excluded]',
        }),
      );
      const refused = await runCli(['check', file, '--json']);
      expect(refused.code).toBe(1);
      const checks = (JSON.parse(refused.stdout) as { checks: { id: string; result: string; message: string; hint: string }[] }).checks;
      expect(checks.find((c) => c.id === 'pg.db.source_read')).toMatchObject({
        result: 'Failed',
        hint: expect.stringContaining('GRANT pg_read_all_data TO mng_src;'),
      });
      await pgQuery(src, 'GRANT pg_read_all_data TO mng_src');
      const r = await runCli(['apply', file, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
    } finally {
      await prepareTarget(tgt);
      await pgQuery(tgt, 'DROP DATABASE IF EXISTS defaultdb WITH (FORCE)');
      await pgQuery(tgt, `DROP ROLE IF EXISTS ${ADMIN}`);
      await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
      await pgQuery(src, 'DROP ROLE IF EXISTS mng_src');
    }
  });
});
