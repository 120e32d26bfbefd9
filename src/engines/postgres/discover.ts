/** Read-only discovery of both PostgreSQL servers: versions, databases, sizes, target contents. */
import { createHash } from 'node:crypto';
import type { MigrationConfig } from '../../config/types.js';
import { describeServer } from '../../config/connection.js';
import {
  PG_SYSTEM_DATABASES,
  selectDatabases,
  type Discovery,
  type ServerFacts,
  type SourceDatabaseFacts,
  type TargetDatabaseFacts,
} from '../engine.js';
import { withPg, type PgClient } from './connect.js';
import { isPresent, presentStatement, resumableStatement } from '../../state/schema.js';

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

async function serverFacts(c: PgClient, role: 'source' | 'target', cfg: MigrationConfig): Promise<ServerFacts> {
  const r = await c.query<{ v: string; n: string }>(
    `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n`,
  );
  const row = r.rows[0];
  const num = Number(row?.n ?? 0);
  return {
    role,
    display: describeServer(cfg[role]),
    product: 'PostgreSQL',
    version: row?.v ?? '?',
    major: Math.floor(num / 10000),
    versionNum: num,
  };
}

interface DbRow {
  datname: string;
  size: string | null;
  encoding: string;
  collation: string;
}

async function listDatabases(c: PgClient): Promise<DbRow[]> {
  const r = await c.query<DbRow>(
    `SELECT datname,
            CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END AS size,
            pg_encoding_to_char(encoding) AS encoding, datcollate AS collation
       FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname`,
  );
  return r.rows;
}

/** One query per database: counts, estimates and a fingerprint of the user schema. */
export async function databaseContents(c: PgClient): Promise<{
  tables: number;
  schemas: number;
  rows: number;
  objects: number;
  fingerprint: string;
  tableNames: { schema: string; name: string; bytes: number; intKey: boolean }[];
  schemaNames: string[];
}> {
  const r = await c.query<{
    tables: string;
    schemas: string;
    rows: string | null;
    objects: string;
    fp: string | null;
    names: { schema: string; name: string; bytes: number; intKey: boolean }[] | null;
    nsp: string[] | null;
  }>(
    `SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')) AS tables,
            (SELECT json_agg(n.nspname ORDER BY n.nspname) FROM pg_namespace n WHERE ${USER_SCHEMAS}) AS nsp,
            json_agg(json_build_object('schema', n.nspname, 'name', c.relname, 'bytes', pg_relation_size(c.oid),
                     'intKey', EXISTS (SELECT 1 FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
                                        WHERE k.conrelid = c.oid AND k.contype = 'p' AND array_length(k.conkey, 1) = 1 AND a.atttypid IN (20, 21, 23)))
                     ORDER BY n.nspname, c.relname) FILTER (WHERE c.relkind IN ('r', 'p')) AS names,
            (SELECT count(*) FROM pg_namespace n WHERE ${USER_SCHEMAS} AND n.nspname <> 'public') + 1 AS schemas,
            sum(greatest(c.reltuples, pg_stat_get_live_tuples(c.oid), 0)) FILTER (WHERE c.relkind = 'r') AS rows,
            count(*) + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER_SCHEMAS}
                         AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')) AS objects,
            md5(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' ||
                coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN '!' ELSE '' END, ',' ORDER BY a.attnum)
                            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''),
                ';' ORDER BY n.nspname, c.relname)) AS fp
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
  );
  const row = r.rows[0];
  return {
    tables: Number(row?.tables ?? 0),
    schemas: Number(row?.schemas ?? 1),
    rows: Math.round(Number(row?.rows ?? 0)),
    objects: Number(row?.objects ?? 0),
    fingerprint: row?.fp ?? 'empty',
    tableNames: row?.names ?? [],
    schemaNames: row?.nsp ?? [],
  };
}

/** Databases an unfinished run of this migration started (read from the state store, if any). */
async function resumableDatabases(c: PgClient, name: string): Promise<Record<string, string>> {
  if (!isPresent((await c.query<{ present: unknown }>(presentStatement('postgresql'))).rows[0]?.present)) return {};
  const r = await c.query<{ dbname: string; phase: string }>(resumableStatement('postgresql'), [name]);
  return Object.fromEntries(r.rows.map((x) => [x.dbname, x.phase]));
}

export async function discoverPostgres(cfg: MigrationConfig, signal?: AbortSignal): Promise<Discovery> {
  const ro = { readOnly: true };
  // The two servers are read at the same time, each on one connection (and one per database).
  const [src, tgt] = await Promise.all([
    withPg('source', cfg.source, ro, async (c) => ({
      facts: await serverFacts(c, 'source', cfg),
      dbs: await listDatabases(c),
      roles: (
        await c.query<{ rolname: string; su: boolean; me: boolean }>(
          `SELECT rolname, rolsuper AS su, rolname = current_user AS me FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`,
        )
      ).rows,
    })),
    withPg('target', cfg.target, ro, async (c) => ({
      facts: await serverFacts(c, 'target', cfg),
      roles: await targetRoleFacts(c),
      dbs: await listDatabases(c),
      resumable: await resumableDatabases(c, cfg.name),
    })),
  ]);
  const target = tgt.roles;
  const targetRoles = target.existing;
  const roleChoice = chooseRoles(cfg, src.roles, targetRoles);
  // Roles that will exist on the target, and those its user may give objects to (it joins the ones it creates).
  const willExist = new Set([...targetRoles, ...(roleChoice.create ?? [])]);
  const ownable = (r: string) => target.superuser || target.ownable.has(r) || (roleChoice.create ?? []).includes(r) || r === target.user;
  const sel = selectDatabases(
    src.dbs.map((d) => d.datname),
    cfg.databases.include,
    cfg.databases.exclude,
    PG_SYSTEM_DATABASES,
  );
  const fingerprint = createHash('sha256');
  const sourceDbs: SourceDatabaseFacts[] = [];
  const targetDbs: TargetDatabaseFacts[] = [];
  for (const name of sel.selected) {
    signal?.throwIfAborted();
    const row = src.dbs.find((d) => d.datname === name);
    const there = tgt.dbs.find((d) => d.datname === name);
    const [{ contents, access }, targetDb] = await Promise.all([
      withPg('source', cfg.source, { ...ro, database: name }, async (c) => ({
        contents: await databaseContents(c),
        access: await ownersAndGrantees(c),
      })),
      there
        ? withPg('target', cfg.target, { ...ro, database: name }, databaseContents).then((t): TargetDatabaseFacts => ({
            name,
            exists: true,
            sizeBytes: Number(there.size ?? 0),
            userObjects: t.objects,
          }))
        : Promise.resolve<TargetDatabaseFacts>({ name, exists: false, sizeBytes: null, userObjects: null }),
    ]);
    fingerprint.update(`${name}\0${contents.fingerprint}\0`);
    sourceDbs.push({
      name,
      sizeBytes: Number(row?.size ?? 0),
      tables: contents.tables,
      schemas: contents.schemas,
      rowEstimate: contents.rows,
      encoding: row?.encoding ?? null,
      collation: row?.collation ?? null,
      tableNames: contents.tableNames,
      schemaNames: contents.schemaNames,
      ownershipToTargetUser: access.owners.filter((o) => !ownable(o.role)),
      grantsSkipped: access.grantees.filter((g) => !willExist.has(g)),
    });
    targetDbs.push(targetDb);
  }
  return {
    source: src.facts,
    target: tgt.facts,
    databases: sourceDbs.map((s, i) => ({ source: s, target: targetDbs[i] as TargetDatabaseFacts })),
    missing: sel.missing,
    excluded: sel.excluded,
    roles: roleChoice.create,
    rolesNotCreated: roleChoice.notCreated,
    targetUser: target.user,
    sourceSchemaFingerprint: `sha256:${fingerprint.digest('hex')}`,
    resumable: tgt.resumable,
  };
}

/** The target's roles, its user, and the roles that user may give objects to. */
async function targetRoleFacts(c: PgClient): Promise<{ existing: Set<string>; ownable: Set<string>; superuser: boolean; user: string }> {
  const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
  const r = await c.query<{ rolname: string; ownable: boolean; su: boolean; me: string }>(
    `SELECT rolname, pg_has_role(current_user, oid, ${v >= 160000 ? "'SET'" : "'MEMBER'"}) AS ownable,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su, current_user AS me FROM pg_roles`,
  );
  return {
    existing: new Set(r.rows.map((x) => x.rolname)),
    ownable: new Set(r.rows.filter((x) => x.ownable).map((x) => x.rolname)),
    superuser: r.rows[0]?.su === true,
    user: r.rows[0]?.me ?? '',
  };
}

/** Owners of the database's user objects (with counts) and the roles its relation grants name. */
async function ownersAndGrantees(c: PgClient): Promise<{ owners: { role: string; objects: number }[]; grantees: string[] }> {
  const owners = await c.query<{ role: string; n: string }>(
    `SELECT pg_get_userbyid(owner) AS role, count(*)::text AS n FROM (
       SELECT c.relowner AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE ${USER_SCHEMAS} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
       UNION ALL SELECT p.proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE ${USER_SCHEMAS} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
       UNION ALL SELECT n.nspowner FROM pg_namespace n WHERE ${USER_SCHEMAS} AND n.nspname <> 'public') o
      GROUP BY 1 ORDER BY 1`,
  );
  const grantees = await c.query<{ g: string }>(
    `SELECT DISTINCT pg_get_userbyid(a.grantee) AS g FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
      WHERE ${USER_SCHEMAS} AND c.relacl IS NOT NULL AND a.grantee <> 0 ORDER BY 1`,
  );
  return { owners: owners.rows.map((r) => ({ role: r.role, objects: Number(r.n) })), grantees: grantees.rows.map((r) => r.g) };
}

/** Which source roles a migration creates, and why each other one is not created. Pure. */
export function chooseRoles(
  cfg: MigrationConfig,
  source: { rolname: string; su: boolean; me: boolean }[],
  onTarget: ReadonlySet<string>,
): { create: string[] | null; notCreated: { name: string; why: string }[] } {
  if (!cfg.roles.migrate) return { create: null, notCreated: [] };
  const create: string[] = [];
  const notCreated: { name: string; why: string }[] = [];
  for (const r of source) {
    if (r.su) notCreated.push({ name: r.rolname, why: 'superuser' });
    else if (r.me) notCreated.push({ name: r.rolname, why: 'the source connection user' });
    else if (cfg.roles.exclude.includes(r.rolname)) notCreated.push({ name: r.rolname, why: 'roles.exclude' });
    else if (onTarget.has(r.rolname)) notCreated.push({ name: r.rolname, why: 'exists on the target, left as it is' });
    else create.push(r.rolname);
  }
  return { create, notCreated };
}
