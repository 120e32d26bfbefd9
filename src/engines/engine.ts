/**
 * The engine interface: what the commands need from a database engine. PostgreSQL and MySQL are
 * its two implementations.
 */
import { isPattern, nameMatches } from '../config/patterns.js';
import type { MigrationConfig } from '../config/types.js';
import type { RateLimiter } from '../util/rate-limit.js';
import type { DatabaseRecord, StateStore } from '../state/types.js';
import type { CheckOutcome } from './checks.js';

export interface ServerFacts {
  role: 'source' | 'target';
  /** user@host:port */
  display: string;
  product: 'PostgreSQL' | 'MySQL' | 'MariaDB';
  version: string;
  major: number;
  /** e.g. 150004 for PostgreSQL 15.4, 101106 for MariaDB 10.11.6. */
  versionNum: number;
}

export interface SourceDatabaseFacts {
  name: string;
  sizeBytes: number;
  tables: number;
  schemas: number;
  rowEstimate: number;
  encoding: string | null;
  collation: string | null;
  /** The database's tables (schema null on MySQL), for the selection's patterns. */
  tableNames?: { schema: string | null; name: string; bytes?: number; intKey?: boolean }[];
  /** PostgreSQL: the database's user schemas, for schemas.include / exclude. */
  schemaNames?: string[];
  /** PostgreSQL: owners whose objects will be owned by the target user instead (it may not give them), with counts. */
  ownershipToTargetUser?: { role: string; objects: number }[];
  /** PostgreSQL: grantees of the database's grants that will not exist on the target (those grants are skipped). */
  grantsSkipped?: string[];
}

export interface TargetDatabaseFacts {
  name: string;
  exists: boolean;
  sizeBytes: number | null;
  /** User objects (tables, views, functions, sequences, types) found; 0 = empty. */
  userObjects: number | null;
}

export interface Discovery {
  source: ServerFacts;
  target: ServerFacts;
  /** The databases that will be migrated, in name order. */
  databases: { source: SourceDatabaseFacts; target: TargetDatabaseFacts }[];
  /** Included in the config but absent on the source. */
  missing: string[];
  /** Left out by databases.exclude. */
  excluded: string[];
  /** PostgreSQL roles that would be created (null for MySQL). */
  roles: string[] | null;
  /** PostgreSQL source roles not created, with the reason (superuser, excluded, already there...). */
  rolesNotCreated?: { name: string; why: string }[];
  /** PostgreSQL: the target user, who owns what it may not give to a source role's owner. */
  targetUser?: string;
  /** Hash of the source schema of the selected databases. */
  sourceSchemaFingerprint: string;
  /** Databases an unfinished run of this migration already started on the target (db -> phase reached). */
  resumable: Record<string, string>;
}

export interface CheckOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Directory of pg_dump and friends (PostgreSQL). */
  pgbin?: string;
  signal?: AbortSignal;
}

export interface CheckRun {
  outcome: CheckOutcome;
  /** Null when a server could not be reached (the connectivity checks say why). */
  discovery: Discovery | null;
}

/** copy.pauseWhen: why the copy should wait now (null: go on). */
export interface SourceGuard {
  reason(): string | null;
  stop(): Promise<void>;
}

export interface Engine {
  readonly name: 'postgresql' | 'mysql';
  /** Read-only look at both servers; throws when one cannot be reached. */
  discover(cfg: MigrationConfig, signal?: AbortSignal): Promise<Discovery>;
  /** The pre-migration check (read-only): results, and the method per database. */
  check(cfg: MigrationConfig, opts: CheckOptions): Promise<CheckRun>;
  /** copy.pauseWhen: watches the source while copying (engines that support it). */
  sourceGuard?(cfg: MigrationConfig, onChange: (reason: string | null) => void): Promise<SourceGuard>;
  /** The state store on the target (connection opened; nothing created until a write). */
  openStateStore(cfg: MigrationConfig): Promise<StateStore>;
  /** Instance-level work before the databases (PostgreSQL: roles). Returns lines to report. */
  prepareTarget(cfg: MigrationConfig, report: (line: string) => void, env: Readonly<Record<string, string | undefined>>): Promise<string[]>;
  /** After every database's steps (MySQL: start the one replica of all replicated databases). */
  afterDatabases(
    cfg: MigrationConfig,
    store: StateStore,
    report: (line: string) => void,
    env: Readonly<Record<string, string | undefined>>,
  ): Promise<string[]>;
  /** Runs one database's steps of the plan (schema, copy, replication set-up, verify). */
  migrateDatabase(run: DatabaseRun): Promise<void>;
  /** Online mode: wait for lag, sync, stop replication and clean up. Returns lines to report. */
  cutover(
    cfg: MigrationConfig,
    store: StateStore,
    databases: string[],
    report: (line: string) => void,
    signal?: AbortSignal,
    env?: Readonly<Record<string, string | undefined>>,
  ): Promise<string[]>;
  /** Stop a migration and remove its replication objects on both sides. Returns what was removed. */
  cancel(
    cfg: MigrationConfig,
    store: StateStore,
    databases: string[],
    report: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<string[]>;
  /** Live lag and change counters of replicating databases (read-only; nothing is stored). */
  liveDatabases(cfg: MigrationConfig, databases: DatabaseRecord[]): Promise<DatabaseRecord[]>;
}

/** What an engine gets to migrate one database. */
export interface DatabaseRun {
  cfg: MigrationConfig;
  database: string;
  method: 'dump' | 'replication';
  /** Parallel workers this database may use. */
  jobs: number;
  /** Directory of pg_dump (PostgreSQL). */
  pgbin?: string;
  env: Readonly<Record<string, string | undefined>>;
  store: StateStore;
  signal?: AbortSignal;
  /** Progress line for the task (Listr output). */
  /** copy.maxRate: one bucket shared by every copy stream of the run. */
  limiter?: RateLimiter;
  /** A progress line; `figures` carry its numbers for structured logs and metrics. */
  report(line: string, figures?: Record<string, number>): void;
}

/** Databases never migrated (SPEC §8): templates and cloud vendors' system databases. */
export const PG_SYSTEM_DATABASES = ['template0', 'template1', 'azure_maintenance', 'azure_sys', '_aiven', 'rdsadmin', 'cloudsqladmin'];
export const MYSQL_SYSTEM_DATABASES = ['mysql', 'sys', 'information_schema', 'performance_schema', 'dbferry'];

/** Pure: which source databases a config selects. */
export function selectDatabases(
  available: readonly string[],
  include: readonly string[],
  exclude: readonly string[],
  system: readonly string[],
): { selected: string[]; missing: string[]; excluded: string[] } {
  // A pattern (db_*) never selects a system database; a name written out does.
  const included = (d: string) => include.some((p) => nameMatches(p, d) && (!isPattern(p) || !system.includes(d)));
  const base = include.length ? available.filter(included) : available.filter((d) => !system.includes(d));
  const missing = include.filter((p) => !available.some((d) => nameMatches(p, d) && (!isPattern(p) || !system.includes(d))));
  const excludedBy = (d: string) => exclude.some((p) => nameMatches(p, d));
  const excluded = base.filter(excludedBy);
  const selected = base.filter((d) => !excludedBy(d)).sort();
  return { selected, missing, excluded };
}
