/**
 * The PostgreSQL dump method end to end: a fixture with every object kind and type and odd
 * identifiers, copied between real clusters of different majors; schema and data compared.
 * Pairs: DBFERRY_PG_PAIRS="13:17,15:15" (default); `npm run test:matrix` runs 13,14,15 -> 15..18.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription, columnHashes, dataHashes, schemaDump } from '../setup/compare.js';
import { ROOT, pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import { startPostgres, stopPostgres, type PgServer } from '../setup/servers.js';

const servers = inject('servers');
const pairs = (process.env.DBFERRY_PG_PAIRS ?? '13:17,15:15').split(',').map((p) => p.split(':').map(Number) as [number, number]);
const FIXTURE = readFileSync(join(ROOT, 'test', 'fixtures', 'pg-fidelity.sql'), 'utf8');
const extra: PgServer[] = [];

async function serverFor(major: number, avoid?: PgServer): Promise<PgServer> {
  const s = servers.pg[String(major)];
  if (s && s !== avoid && s.port !== avoid?.port) return s;
  const started = await startPostgres({ major });
  extra.push(started);
  return started;
}

async function prepareSource(s: PgServer): Promise<void> {
  await pgQuery(s, 'DROP DATABASE IF EXISTS fidelity');
  await pgQuery(
    s,
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fid_owner') THEN CREATE ROLE fid_owner LOGIN CREATEDB CONNECTION LIMIT 7 PASSWORD 'secret-never-copied'; END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fid_reader') THEN CREATE ROLE fid_reader NOLOGIN; END IF;
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fid_excluded') THEN CREATE ROLE fid_excluded LOGIN; END IF;
     END $$;
     GRANT fid_reader TO fid_owner;
     ALTER ROLE fid_reader SET search_path = app, public;
     ALTER ROLE fid_owner SET work_mem = '8MB'`,
  );
  await pgQuery(s, 'CREATE DATABASE fidelity');
  await pgQuery(s, FIXTURE, 'fidelity');
}

async function dropTargetSide(t: PgServer): Promise<void> {
  await pgQuery(t, 'DROP DATABASE IF EXISTS fidelity');
  await pgQuery(t, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  for (const r of ['fid_owner', 'fid_reader', 'fid_excluded']) await pgQuery(t, `DROP ROLE IF EXISTS ${r}`);
}

afterAll(async () => {
  await Promise.all(extra.map((s) => stopPostgres(s)));
});

for (const [sm, tm] of pairs) {
  describe(`offline migration PostgreSQL ${sm} -> ${tm}`, () => {
    let src: PgServer;
    let tgt: PgServer;
    beforeAll(async () => {
      src = await serverFor(sm);
      tgt = await serverFor(tm, src);
      await prepareSource(src);
      await dropTargetSide(tgt);
    });
    afterAll(async () => {
      await dropTargetSide(tgt);
      await pgQuery(src, 'DROP DATABASE IF EXISTS fidelity');
    });

    it('copies schema, data, roles, sequences and large objects with default settings; every column equal', async () => {
      const dir = tempDir();
      const file = writeFile(
        dir,
        'migration.yaml',
        pgYaml({
          name: `fid-${sm}-${tm}`,
          source: src,
          target: tgt,
          include: ['fidelity'],
          extra: [
            'roles:',
            '  exclude: [fid_excluded]',
            'tables:',
            '  skip: [fidelity.app.audit_log]',
            'copy:',
            '  jobs: 3',
            '  splitTablesLargerThan: 64kB',
          ].join('\n'),
        }),
      );
      const r = await runCli(['apply', file, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/role\(s\) created: [^;]*fid_owner, fid_reader/);

      // Schema: every object, owner, grant, comment; the excluded role's object is owned by the target user.
      // Expected differences: the excluded role's object is owned by the target user without its
      // grants; newer majors add the MAINTAIN privilege (17), multirange constructors (14) and
      // NOT NULL constraints in pg_constraint (18; the columns' nn= carries them for older ones).
      const a = (await catalogDescription(src, 'fidelity', sm === tm)).map((l) =>
        l.startsWith('rel app.owned_by_excluded ')
          ? l.replace(/owner=fid_excluded/, 'owner=postgres').replace(/acl=\{[^}]*\}/, 'acl=-')
          : l,
      );
      const b = (await catalogDescription(tgt, 'fidelity', sm === tm))
        .map((l) => (tm >= 17 && sm < 17 ? l.replace(/=arwdDxtm\//g, '=arwdDxt/') : l))
        .filter((l) => !(sm < 14 && tm >= 14 && /^fn app\.floatmultirange\(/.test(l)))
        .filter((l) => !(sm < 18 && tm >= 18 && /^con .* NOT NULL "?[^ ]+"?$/.test(l)));
      expect(b).toEqual(a);

      // Data: every table equal, except the skipped one, which exists and is empty.
      const da = await dataHashes(src, 'fidelity');
      const db = await dataHashes(tgt, 'fidelity');
      expect(db['app.audit_log']).toBe('0:0');
      delete da['app.audit_log'];
      delete db['app.audit_log'];
      expect(db).toEqual(da);
      expect(Object.keys(db).length).toBeGreaterThan(15);
      // Column by column, so a type that does not round-trip is named.
      const ca = await columnHashes(src, 'fidelity');
      const cb = await columnHashes(tgt, 'fidelity');
      for (const k of Object.keys(ca)) {
        if (!k.startsWith('app.audit_log.')) continue;
        delete ca[k];
        delete cb[k];
      }
      expect(Object.keys(ca).length).toBeGreaterThan(100);
      expect(cb).toEqual(ca);

      // Roles: attributes, membership and settings, never the password; excluded role absent.
      const roles = await pgQuery<{ rolname: string; rolcanlogin: boolean; rolcreatedb: boolean; rolconnlimit: number; pw: boolean }>(
        tgt,
        `SELECT rolname, rolcanlogin, rolcreatedb, rolconnlimit, rolpassword IS NOT NULL AS pw FROM pg_authid WHERE rolname LIKE 'fid\\_%' ORDER BY 1`,
      );
      expect(roles).toEqual([
        { rolname: 'fid_owner', rolcanlogin: true, rolcreatedb: true, rolconnlimit: 7, pw: false },
        { rolname: 'fid_reader', rolcanlogin: false, rolcreatedb: false, rolconnlimit: -1, pw: false },
      ]);
      expect(await pgQuery(tgt, `SELECT pg_has_role('fid_owner', 'fid_reader', 'MEMBER') AS m`)).toEqual([{ m: true }]);
      const settings = await pgQuery<{ c: string[] }>(
        tgt,
        `SELECT s.setconfig AS c FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname LIKE 'fid\\_%' ORDER BY r.rolname`,
      );
      expect(settings.map((x) => x.c)).toEqual([['work_mem=8MB'], ['search_path=app, public']]);

      // The migration is recorded as Succeeded with every table done.
      const st = await runCli(['status', file, '--json']);
      const doc = JSON.parse(st.stdout) as { state: string; databases: { tables: { total: number; completed: number } }[] };
      expect(doc.state).toBe('Succeeded');
      expect(doc.databases[0]?.tables.completed).toBe(doc.databases[0]?.tables.total);
      if (sm === tm) {
        const clean = (s: string) =>
          s
            .split('\n')
            .filter((l) => !/fid_excluded|owned_by_excluded OWNER TO|^-- Name: /.test(l))
            .join('\n');
        expect(clean(await schemaDump(tgt, 'fidelity'))).toBe(clean(await schemaDump(src, 'fidelity')));
      }
    });
  });
}
