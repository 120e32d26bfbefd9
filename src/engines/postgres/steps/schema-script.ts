/**
 * pg_dump's scripts of one database, taken on the copy's snapshot and understood once for the
 * steps that use them: the pre-data header, batches and table units (schema-pre-data), each table's
 * keys and indexes (copy-data), the rest of post-data and the foreign keys (schema-post-data),
 * and the tables to copy with those an earlier run finished.
 */
import type { MigrationConfig } from '../../../config/types.js';
import { schemaWanted } from '../../../config/patterns.js';
import { tableWanted } from '../../selection.js';
import { connectPg, type PgClient } from '../connect.js';
import { listSourceTables, type SourceTable } from '../copy.js';
import {
  classifyPostData,
  filterStatements,
  parseEntries,
  planPreData,
  splitDump,
  statements,
  type DumpEntry,
  type FilterResult,
  type PostDataItem,
  type SchemaItem,
  type SkippedStatement,
  type TargetRoles,
} from '../dump-script.js';
import { runPgDump } from '../pg-dump.js';
import { LOCK_SETTINGS, lockTableSize } from '../lock-table.js';
import { tableKey, type PgDatabaseContext } from './context.js';
import { openWorkerSource } from './workers.js';

/**
 * Tables smaller than this are units: a copy worker creates, fills (COPY FREEZE) and indexes each
 * in one transaction, so the schema connection's serial work is short and the target's per-table
 * costs (file creation, index builds with their fsync) are spread over the workers.
 */
const UNIT_MAX = 1024 * 1024;
/** Tables per pre-data batch: small, so the first tables can be copied while the rest are created. */
const TABLES_PER_BATCH = 8;

export interface SchemaScript {
  targetRoles: TargetRoles;
  /** The database-level part of pre-data (empty when schema-pre-data does not run). */
  header: FilterResult;
  /** The rest of pre-data: batches for the schema connection, units for the copy workers. */
  items: SchemaItem[];
  post: PostDataItem[];
  /** Each table's own keys and indexes, built once it is loaded. */
  byTable: Map<string, PostDataItem[]>;
  /** Tables whose data is copied, and those an earlier run finished. */
  copyList: SourceTable[];
  doneTables: Set<string>;
  skipped: SkippedStatement[];
}

/** `--exclude-schema="name"` for every schema schemas.include / exclude leaves out (quoted: matched literally). */
async function excludedSchemaArgs(c: PgClient, cfg: MigrationConfig): Promise<string[]> {
  if (cfg.schemas.include.length === 0 && cfg.schemas.exclude.length === 0) return [];
  const names = (
    await c.query<{ n: string }>(
      `SELECT nspname AS n FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1`,
    )
  ).rows.map((r) => r.n);
  return names.filter((n) => !schemaWanted(cfg.schemas, n)).map((n) => `--exclude-schema="${n.replace(/"/g, '""')}"`);
}

/** The tables, listed on the snapshot in a transaction of their own: their sizes lock every table, released when it ends. */
async function listOnSnapshot(ctx: PgDatabaseContext): Promise<SourceTable[]> {
  const c = await openWorkerSource(ctx.run.cfg, ctx.run.database, ctx.snapshot);
  try {
    return await listSourceTables(c, ctx.source.versionNum);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Whether the source's lock table holds the locks of both pg_dump runs at once (every table twice, and a margin). */
async function bothDumpsFit(c: PgClient): Promise<boolean> {
  const r = await c.query<{ name: string; setting: string; tables: string }>(
    `SELECT name, setting, (SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p', 'v', 'm', 'f', 'S'))::text AS tables
       FROM pg_settings WHERE name = ANY ($1::text[])`,
    [LOCK_SETTINGS],
  );
  const settings = Object.fromEntries(r.rows.map((x) => [x.name, x.setting]));
  return 2 * Number(r.rows[0]?.tables ?? 0) + 200 <= lockTableSize(settings).capacity;
}

/** The target's roles, and those its user may make owners of objects (ALTER ... OWNER TO). */
async function targetRolesOf(cfg: MigrationConfig): Promise<TargetRoles> {
  const c = await connectPg('target', cfg.target, {});
  try {
    const v = Number((await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
    // Since 16, giving an object to a role needs the SET option of the membership.
    const r = await c.query<{ rolname: string; ownable: boolean; su: boolean }>(
      `SELECT rolname, pg_has_role(current_user, oid, ${v >= 160000 ? "'SET'" : "'MEMBER'"}) AS ownable, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su FROM pg_roles`,
    );
    const superuser = r.rows[0]?.su === true;
    return {
      existing: new Set(r.rows.map((x) => x.rolname)),
      ownable: superuser ? 'any' : new Set(r.rows.filter((x) => x.ownable).map((x) => x.rolname)),
    };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** The pre-data script: its database-level header (CREATE DATABASE left out) and its other entries. */
async function preDataScript(
  ctx: PgDatabaseContext,
  schemaArgs: string[],
  roles: TargetRoles,
): Promise<{ header: FilterResult; body: DumpEntry[] }> {
  const { cfg, database: db } = ctx.run;
  const args = ['--section=pre-data', '--create', `--snapshot=${ctx.snapshot}`, ...schemaArgs];
  const pre = splitDump(await runPgDump(ctx.pgDump, cfg.source, db, args, ctx.run.signal));
  const withoutCreate = pre.header
    .map((e) =>
      e.type === 'DATABASE'
        ? {
            ...e,
            sql: statements(e.sql)
              .filter((s) => !/^CREATE DATABASE /.test(s))
              .join('\n'),
          }
        : e,
    )
    .filter((e) => e.sql.trim() !== '');
  return { header: filterStatements(withoutCreate, roles), body: pre.body };
}

export async function loadSchemaScript(ctx: PgDatabaseContext, withPreData: boolean): Promise<SchemaScript> {
  const { cfg, database: db, store } = ctx.run;
  const roles = targetRolesOf(cfg);
  roles.catch(() => undefined);
  // Schemas left out by schemas.include / exclude: pg_dump neither creates nor fills them.
  const schemaArgs = await excludedSchemaArgs(ctx.exporter, cfg);
  const dumpPost = () =>
    runPgDump(ctx.pgDump, cfg.source, db, ['--section=post-data', `--snapshot=${ctx.snapshot}`, ...schemaArgs], ctx.run.signal);
  // Each pg_dump locks every table: two at once need twice the lock table, so with many tables they take turns.
  const together = await bothDumpsFit(ctx.exporter);
  const early = together ? dumpPost() : undefined;
  early?.catch(() => undefined);
  const targetRoles = await roles;
  const pre = withPreData
    ? await preDataScript(ctx, schemaArgs, targetRoles)
    : { header: { sql: '', skipped: [], extensionsLeftOut: [] }, body: [] };
  const postDump = early ?? dumpPost();
  const skipped: SkippedStatement[] = [...pre.header.skipped];
  const post = classifyPostData(parseEntries(await postDump)).map((p): PostDataItem => {
    const f = filterStatements([p.entry], targetRoles, cfg.extensions.exclude);
    skipped.push(...f.skipped);
    return { ...p, entry: { ...p.entry, sql: f.sql } };
  });
  const copyList = (await listOnSnapshot(ctx)).filter((t) => tableWanted(cfg, db, t.schema, t.name));
  const doneTables = new Set((await store.getTables(cfg.name, db)).filter((t) => t.done).map((t) => tableKey(t.schema, t.table)));
  // Small tables still to copy are units (pre-data runs on a fresh database: none is done yet).
  const units = new Set(
    copyList
      .filter((t) => t.bytes < UNIT_MAX && t.extensionCondition === null && !doneTables.has(tableKey(t.schema, t.name)))
      .map((t) => tableKey(t.schema, t.name)),
  );
  const planned = planPreData(pre.body, units, post, TABLES_PER_BATCH);
  const tableItems = post.filter((i) => !planned.moved.has(i));
  const byTable = new Map<string, PostDataItem[]>();
  for (const p of tableItems) {
    if (p.phase !== 'table' || !p.table) continue;
    const k = tableKey(p.table.schema, p.table.name);
    byTable.set(k, [...(byTable.get(k) ?? []), p]);
  }
  return { targetRoles, header: pre.header, items: planned.items, post, byTable, copyList, doneTables, skipped };
}
