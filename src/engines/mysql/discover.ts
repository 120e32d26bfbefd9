/** Read-only discovery of both MySQL/MariaDB servers. */
import { createHash } from 'node:crypto';
import type { MigrationConfig } from '../../config/types.js';
import { describeServer } from '../../config/connection.js';
import {
  MYSQL_SYSTEM_DATABASES,
  selectDatabases,
  type Discovery,
  type ServerFacts,
  type SourceDatabaseFacts,
  type TargetDatabaseFacts,
} from '../engine.js';
import { rows, withMysql, type MyConnection } from './connect.js';
import { isPresent, presentStatement, resumableStatement } from '../../state/schema.js';

async function serverFacts(c: MyConnection, role: 'source' | 'target', cfg: MigrationConfig): Promise<ServerFacts> {
  const [r] = await rows<{ v: string }>(c, 'SELECT VERSION() AS v');
  const v = r?.v ?? '0.0.0';
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  const [maj, min, pat] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  return {
    role,
    display: describeServer(cfg[role]),
    product: /mariadb/i.test(v) ? 'MariaDB' : 'MySQL',
    version: v,
    major: maj,
    versionNum: maj * 10000 + min * 100 + pat,
  };
}

interface SchemaRow {
  name: string;
  size: string | null;
  tables: string | null;
  rows_: string | null;
  objects: string | null;
  collation: string | null;
  charset: string | null;
}

async function schemas(c: MyConnection): Promise<SchemaRow[]> {
  return rows<SchemaRow>(
    c,
    `SELECT s.SCHEMA_NAME AS name, s.DEFAULT_COLLATION_NAME AS collation, s.DEFAULT_CHARACTER_SET_NAME AS charset,
            SUM(t.DATA_LENGTH + t.INDEX_LENGTH) AS size,
            SUM(t.TABLE_TYPE = 'BASE TABLE') AS tables,
            SUM(IF(t.TABLE_TYPE = 'BASE TABLE', t.TABLE_ROWS, 0)) AS rows_,
            COUNT(t.TABLE_NAME) + (SELECT COUNT(*) FROM information_schema.ROUTINES r WHERE r.ROUTINE_SCHEMA = s.SCHEMA_NAME) AS objects
       FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME
      GROUP BY s.SCHEMA_NAME, s.DEFAULT_COLLATION_NAME, s.DEFAULT_CHARACTER_SET_NAME ORDER BY s.SCHEMA_NAME`,
  );
}

/** Databases an unfinished run of this migration started (read from the state store, if any). */
async function resumableDatabases(c: MyConnection, name: string): Promise<Record<string, string>> {
  const [present] = await rows<{ present: unknown }>(c, presentStatement('mysql'));
  if (!isPresent(present?.present)) return {};
  const r = await rows<{ dbname: string; phase: string }>(c, resumableStatement('mysql'), [name]);
  return Object.fromEntries(r.map((x) => [x.dbname, x.phase]));
}

export async function discoverMysql(cfg: MigrationConfig, signal?: AbortSignal): Promise<Discovery> {
  const src = await withMysql('source', cfg.source, {}, async (c) => {
    const facts = await serverFacts(c, 'source', cfg);
    const list = await schemas(c);
    const sel = selectDatabases(
      list.map((s) => s.name),
      cfg.databases.include,
      cfg.databases.exclude,
      MYSQL_SYSTEM_DATABASES,
    );
    signal?.throwIfAborted();
    const cols = sel.selected.length
      ? await rows<{ s: string; t: string; c: string; ty: string }>(
          c,
          `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ty FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`,
          [sel.selected],
        )
      : [];
    const h = createHash('sha256');
    for (const r of cols) h.update(`${r.s}\0${r.t}\0${r.c}\0${r.ty}\n`);
    const tables = sel.selected.length
      ? await rows<{ s: string; t: string; b: string; k: number }>(
          c,
          `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t, t.DATA_LENGTH AS b,
                  (SELECT COUNT(*) = 1 AND MAX(col.DATA_TYPE) LIKE '%int' FROM information_schema.KEY_COLUMN_USAGE k
                     JOIN information_schema.COLUMNS col ON col.TABLE_SCHEMA = k.TABLE_SCHEMA AND col.TABLE_NAME = k.TABLE_NAME AND col.COLUMN_NAME = k.COLUMN_NAME
                    WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY') AS k
             FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA IN (?) AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2`,
          [sel.selected],
        )
      : [];
    return { facts, list, sel, tables, fingerprint: `sha256:${h.digest('hex')}` };
  });
  const tgt = await withMysql('target', cfg.target, {}, async (c) => ({
    facts: await serverFacts(c, 'target', cfg),
    list: await schemas(c),
    resumable: await resumableDatabases(c, cfg.name),
  }));
  const databases = src.sel.selected.map((name) => {
    const s = src.list.find((r) => r.name === name);
    const t = tgt.list.find((r) => r.name === name);
    const source: SourceDatabaseFacts = {
      name,
      sizeBytes: Number(s?.size ?? 0),
      tables: Number(s?.tables ?? 0),
      schemas: 1,
      rowEstimate: Number(s?.rows_ ?? 0),
      encoding: s?.charset ?? null,
      collation: s?.collation ?? null,
      tableNames: src.tables
        .filter((r) => r.s === name)
        .map((r) => ({ schema: null, name: r.t, bytes: Number(r.b ?? 0), intKey: Number(r.k) === 1 })),
    };
    const target: TargetDatabaseFacts = t
      ? { name, exists: true, sizeBytes: Number(t.size ?? 0), userObjects: Number(t.objects ?? 0) }
      : { name, exists: false, sizeBytes: null, userObjects: null };
    return { source, target };
  });
  return {
    source: src.facts,
    target: tgt.facts,
    databases,
    missing: src.sel.missing,
    excluded: src.sel.excluded,
    roles: null,
    sourceSchemaFingerprint: src.fingerprint,
    resumable: tgt.resumable,
  };
}
