/** What the steps both engines share say about themselves in the plan. Pure. */
import { tableRefMatches } from '../config/identifiers.js';
import { nameMatches } from '../config/patterns.js';
import type { MigrationConfig } from '../config/types.js';
import { formatBytes } from '../util/sizes.js';
import type { SourceDatabaseFacts } from './engine.js';
import { SAMPLE_RANGES, tableVerify } from './verify-policy.js';

export type TableFacts = NonNullable<SourceDatabaseFacts['tableNames']>;

/** What compiling one database's steps needs: the config, the database, and what discovery knows of it. */
export interface CompileInput {
  cfg: MigrationConfig;
  /** A database name, or `*` for every database of an offline plan that lists none. */
  database: string;
  method: 'dump' | 'replication' | 'auto';
  action: 'create' | 'overwrite' | 'reuse-empty' | 'refuse-non-empty' | 'resume' | 'unknown';
  /** The source's tables (discovered plans). */
  tables?: TableFacts;
  /** Source bytes of the database (discovered plans). */
  sizeBytes?: number | null;
}

export function tableRefsFor(cfg: MigrationConfig, db: string, key: 'skip' | 'include'): string[] {
  return cfg.tables[key].filter((t) => t.db === undefined || nameMatches(t.db, db, t.quoted?.db)).map((t) => t.text);
}

export function createDatabaseText(input: CompileInput, what: string): string {
  const db = input.database;
  if (input.action === 'resume') return `resume database "${db}" where the earlier run stopped`;
  if (input.action === 'overwrite') return `drop and recreate database "${db}" on the target (databases.overwrite: true)`;
  if (input.action === 'reuse-empty') return `use the existing empty database "${db}" on the target`;
  return `create ${db === '*' ? 'each selected database' : `database "${db}"`} on the target with the source's ${what}`;
}

function pauseText(cfg: MigrationConfig): string {
  const p = cfg.copy.pauseWhen;
  const when = [
    p.sourceConnectionsAbove !== null ? `the source has more than ${p.sourceConnectionsAbove} client connections` : '',
    p.standbyLagAbove !== null ? `a standby of the source lags more than ${formatBytes(p.standbyLagAbove)}` : '',
  ].filter(Boolean);
  return when.length ? `, paused while ${when.join(' or ')} (copy.pauseWhen)` : '';
}

export function copyText(input: CompileInput): string {
  const { cfg, database: db } = input;
  const skip = tableRefsFor(cfg, db, 'skip');
  const include = tableRefsFor(cfg, db, 'include');
  const filters = [include.length ? `only ${include.join(', ')}` : '', skip.length ? `skipping data of ${skip.join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
  const rate = cfg.copy.maxRate ? `, at most ${formatBytes(cfg.copy.maxRate)}/s read from the source (copy.maxRate)` : '';
  return `copy table data in parallel (${cfg.copy.jobs} jobs) on one consistent snapshot, largest tables first${rate}${pauseText(cfg)}${filters ? `; ${filters}` : ''}`;
}

/** Which verify runs on which tables: with the discovered tables, the ones sampled are named. */
export function verifyText(input: CompileInput): string {
  const { cfg, database: db, tables } = input;
  if (cfg.verify === 'counts') return 'verify row counts per table (verify: counts: no checksums)';
  if (cfg.verify === 'checksums') return 'verify row counts and a checksum of every row, per table';
  const rule = `tables above ${formatBytes(cfg.verifySampleAbove)} with an integer primary key: checksums of ${SAMPLE_RANGES} key ranges covering about ${formatBytes(cfg.verifySampleAbove)}`;
  if (!tables) return `verify row counts and a checksum of every row per table; ${rule}`;
  const copied = tables.filter((t) => !cfg.tables.skip.some((r) => tableRefMatches(r, db, t.schema ?? undefined, t.name)));
  const sampled = copied.filter(
    (t) => tableVerify(cfg.verify, { bytes: t.bytes ?? 0, intKey: t.intKey ? 'key' : null }, cfg.verifySampleAbove) === 'sample',
  );
  const names = sampled.map((t) => `${t.schema ? `${t.schema}.` : ''}${t.name} (${formatBytes(t.bytes ?? 0)})`);
  if (names.length === 0) return `verify row counts and a checksum of every row of all ${copied.length} table(s)`;
  const shown = names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
  return `verify row counts of every table (of the sampled ones: as they load, on both sides); checksums of every row of ${copied.length - sampled.length} table(s), and of ${SAMPLE_RANGES} key ranges covering about ${formatBytes(cfg.verifySampleAbove)} of ${shown}`;
}
