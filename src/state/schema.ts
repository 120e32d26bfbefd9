/**
 * The state tables as data, and the SQL text to create, read and upsert them in both dialects.
 * Pure: the stores only execute what this module writes.
 */
export type Dialect = 'postgresql' | 'mysql';
type Kind = 'name' | 'text' | 'longtext' | 'int' | 'bool' | 'json' | 'float';

interface Column {
  field: string;
  column: string;
  kind: Kind;
  nullable?: boolean;
}

export interface TableSpec {
  table: string;
  columns: Column[];
  key: string[];
}

const c = (field: string, column: string, kind: Kind, nullable = false): Column => ({ field, column, kind, nullable });

export const STATE_TABLES: TableSpec[] = [
  {
    table: 'migrations',
    key: ['name'],
    columns: [
      c('name', 'name', 'name'),
      c('engine', 'engine', 'name'),
      c('mode', 'mode', 'name'),
      c('option', 'option_', 'name'),
      c('method', 'method', 'name'),
      c('state', 'state', 'name'),
      c('substate', 'substate', 'name'),
      c('error', 'error', 'longtext', true),
      c('configFingerprint', 'config_fingerprint', 'text'),
      c('sourceFingerprint', 'source_fingerprint', 'text', true),
      c('plan', 'plan', 'json', true),
      c('createdAt', 'created_at', 'name'),
      c('updatedAt', 'updated_at', 'name'),
      c('startedAt', 'started_at', 'name', true),
      c('endedAt', 'ended_at', 'name', true),
    ],
  },
  {
    table: 'databases',
    key: ['migration', 'dbname'],
    columns: [
      c('migration', 'migration', 'name'),
      c('dbname', 'dbname', 'name'),
      c('method', 'method', 'name'),
      c('fallbackReason', 'fallback_reason', 'longtext', true),
      c('status', 'status', 'name'),
      c('tablesTotal', 'tables_total', 'int'),
      c('tablesQueued', 'tables_queued', 'int'),
      c('tablesLoading', 'tables_loading', 'int'),
      c('tablesCompleted', 'tables_completed', 'int'),
      c('tablesErrored', 'tables_errored', 'int'),
      c('bytesTotal', 'bytes_total', 'int'),
      c('bytesCopied', 'bytes_copied', 'int'),
      c('cdcInserts', 'cdc_inserts', 'int'),
      c('cdcUpdates', 'cdc_updates', 'int'),
      c('cdcDeletes', 'cdc_deletes', 'int'),
      c('lag', 'lag', 'float', true),
      c('error', 'error', 'longtext', true),
      c('phase', 'phase', 'name', true),
      c('cdcBaseline', 'cdc_baseline', 'text', true),
      c('replicationStart', 'replication_start', 'longtext', true),
      c('updatedAt', 'updated_at', 'name'),
    ],
  },
  {
    table: 'tables',
    key: ['migration', 'dbname', 'schema_name', 'table_name'],
    columns: [
      c('migration', 'migration', 'name'),
      c('dbname', 'dbname', 'name'),
      c('schema', 'schema_name', 'name'),
      c('table', 'table_name', 'name'),
      c('done', 'done', 'bool'),
      c('rows', 'rows_copied', 'int'),
      c('bytes', 'bytes_copied', 'int'),
      c('updatedAt', 'updated_at', 'name'),
    ],
  },
  {
    table: 'steps',
    key: ['migration', 'dbname', 'step_id'],
    columns: [
      c('migration', 'migration', 'name'),
      c('dbname', 'dbname', 'name'),
      c('step', 'step_id', 'name'),
      c('state', 'state', 'name'),
      c('updatedAt', 'updated_at', 'name'),
    ],
  },
  {
    table: 'validations',
    key: ['migration', 'check_id', 'dbname'],
    columns: [
      c('migration', 'migration', 'name'),
      c('checkId', 'check_id', 'name'),
      c('level', 'level', 'name'),
      c('dbname', 'dbname', 'name'),
      c('result', 'result', 'name'),
      c('message', 'message', 'longtext'),
      c('hint', 'hint', 'longtext'),
    ],
  },
];

export function spec(table: string): TableSpec {
  const s = STATE_TABLES.find((t) => t.table === table);
  if (!s) throw new Error(`unknown state table ${table}`);
  return s;
}

const PG_TYPES: Record<Kind, string> = {
  name: 'text',
  text: 'text',
  longtext: 'text',
  int: 'bigint',
  bool: 'boolean',
  json: 'jsonb',
  float: 'double precision',
};
// MySQL keys must fit the index size limit: names are at most 64 characters in both engines.
const MY_TYPES: Record<Kind, string> = {
  name: 'varchar(128)',
  text: 'varchar(255)',
  longtext: 'text',
  int: 'bigint',
  bool: 'boolean',
  json: 'longtext',
  float: 'double',
};

function q(d: Dialect, id: string): string {
  return d === 'postgresql' ? `"${id}"` : `\`${id}\``;
}

/** The container: a schema on PostgreSQL, a database on MySQL; both named dbferry. */
export const STATE_CONTAINER = 'dbferry';

export function tableName(d: Dialect, table: string): string {
  return `${q(d, STATE_CONTAINER)}.${q(d, table)}`;
}

/** One row, column `present`: true (PostgreSQL) or a count > 0 (MySQL) once the store exists (its tables are created together). */
export function presentStatement(d: Dialect): string {
  return d === 'postgresql'
    ? `SELECT to_regclass('${STATE_CONTAINER}.migrations') IS NOT NULL AS present`
    : `SELECT COUNT(*) AS present FROM information_schema.tables WHERE table_schema = '${STATE_CONTAINER}' AND table_name = 'migrations'`;
}

export function isPresent(v: unknown): boolean {
  return v === true || Number(v) > 0;
}

/** Databases an unfinished run of the migration named by the one parameter started, with the phase each reached (columns dbname, phase). */
export function resumableStatement(d: Dialect): string {
  const col = (alias: string, c: string): string => `${alias}.${q(d, c)}`;
  return `SELECT ${col('d', 'dbname')} AS dbname, ${col('d', 'phase')} AS phase FROM ${tableName(d, 'databases')} d JOIN ${tableName(d, 'migrations')} m ON ${col('m', 'name')} = ${col('d', 'migration')}
     WHERE ${col('m', 'name')} = ${d === 'postgresql' ? '$1' : '?'} AND ${col('m', 'state')} IN ('InProgress', 'Failed', 'WaitingForUserAction') AND ${col('d', 'phase')} IS NOT NULL`;
}

export function createStatements(d: Dialect): string[] {
  const out = [
    d === 'postgresql'
      ? `CREATE SCHEMA IF NOT EXISTS ${q(d, STATE_CONTAINER)}`
      : `CREATE DATABASE IF NOT EXISTS ${q(d, STATE_CONTAINER)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
  ];
  for (const t of STATE_TABLES) {
    const cols = t.columns.map(
      (col) => `${q(d, col.column)} ${(d === 'postgresql' ? PG_TYPES : MY_TYPES)[col.kind]}${col.nullable ? '' : ' NOT NULL'}`,
    );
    cols.push(`PRIMARY KEY (${t.key.map((k) => q(d, k)).join(', ')})`);
    out.push(`CREATE TABLE IF NOT EXISTS ${tableName(d, t.table)} (\n  ${cols.join(',\n  ')}\n)${d === 'mysql' ? ' ENGINE=InnoDB' : ''}`);
  }
  return out;
}

/** INSERT ... ON CONFLICT/DUPLICATE KEY UPDATE with placeholders in column order, for `rows` rows. */
export function upsertStatement(d: Dialect, table: string, update = true, rows = 1): string {
  const t = spec(table);
  const cols = t.columns.map((col) => q(d, col.column));
  const n = t.columns.length;
  const values = Array.from(
    { length: rows },
    (_, r) =>
      `(${t.columns.map((col, i) => (d === 'postgresql' ? `$${r * n + i + 1}${col.kind === 'json' ? '::jsonb' : ''}` : '?')).join(', ')})`,
  );
  const nonKey = t.columns.filter((col) => !t.key.includes(col.column));
  const head = `INSERT INTO ${tableName(d, table)} (${cols.join(', ')}) VALUES ${values.join(', ')}`;
  if (!update) return d === 'postgresql' ? `${head} ON CONFLICT DO NOTHING` : head.replace('INSERT INTO', 'INSERT IGNORE INTO');
  if (d === 'postgresql') {
    return `${head} ON CONFLICT (${t.key.map((k) => q(d, k)).join(', ')}) DO UPDATE SET ${nonKey.map((col) => `${q(d, col.column)} = EXCLUDED.${q(d, col.column)}`).join(', ')}`;
  }
  return `${head} ON DUPLICATE KEY UPDATE ${nonKey.map((col) => `${q(d, col.column)} = VALUES(${q(d, col.column)})`).join(', ')}`;
}

export function selectStatement(d: Dialect, table: string, where: string[], orderBy: string[] = []): string {
  const t = spec(table);
  const cols = t.columns.map((col) => q(d, col.column)).join(', ');
  const w = where.map((col, i) => `${q(d, col)} = ${d === 'postgresql' ? `$${i + 1}` : '?'}`);
  return `SELECT ${cols} FROM ${tableName(d, table)}${w.length ? ` WHERE ${w.join(' AND ')}` : ''}${orderBy.length ? ` ORDER BY ${orderBy.map((o) => q(d, o)).join(', ')}` : ''}`;
}

export function deleteStatement(d: Dialect, table: string, where: string[]): string {
  const w = where.map((col, i) => `${q(d, col)} = ${d === 'postgresql' ? `$${i + 1}` : '?'}`);
  return `DELETE FROM ${tableName(d, table)} WHERE ${w.join(' AND ')}`;
}

/** Record -> row values in column order. */
export function toRow(table: string, rec: object): unknown[] {
  const r = rec as Record<string, unknown>;
  return spec(table).columns.map((col) => {
    const v = r[col.field];
    if (v === undefined) return null;
    if (col.kind === 'json') return v === null ? null : JSON.stringify(v);
    if (col.kind === 'bool') return v ? 1 : 0;
    return v;
  });
}

/** Row (keyed by column) -> record. */
export function fromRow<T>(table: string, row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const col of spec(table).columns) {
    let v = row[col.column];
    if (v === null || v === undefined) {
      out[col.field] = null;
      continue;
    }
    if (col.kind === 'int' || col.kind === 'float') v = Number(v);
    else if (col.kind === 'bool') v = v === true || v === 1 || v === '1';
    else if (col.kind === 'json' && typeof v === 'string') v = JSON.parse(v);
    out[col.field] = v;
  }
  return out as T;
}
