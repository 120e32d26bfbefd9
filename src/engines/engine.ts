/**
 * The engine interface: what the commands need from a database engine. PostgreSQL and MySQL are
 * its two implementations.
 */
import { isPattern, nameMatches } from '../config/patterns.js';
import type { MigrationConfig } from '../config/types.js';
import type { RateLimiter } from '../util/rate-limit.js';
import type { DatabaseRecord, StateStore } from '../state/types.js';
import type { Probe } from '../util/probe.js';
import type { DatabaseRecorder } from './recorder.js';
import type { Step } from './steps.js';
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

/** Engine operations of a whole migration (prepare the target, after the databases, cutover, cancel). */
export interface MigrationRun {
  cfg: MigrationConfig;
  store: StateStore;
  env: Readonly<Record<string, string | undefined>>;
  probe: Probe;
  signal?: AbortSignal | undefined;
  report(line: string): void;
}

/** Cutover or cancel of some databases (all of the migration's when empty). */
export interface DatabasesRun extends MigrationRun {
  databases: string[];
}

export interface EngineCapabilities {
  /** `cancel --db`: cancel some of a migration's databases (MySQL's one replica serves them all). */
  cancelSomeDatabases: boolean;
  /** `cutover --db`: cut over some databases ('replicated-together': only all of those one replica serves). */
  cutoverSomeDatabases: 'any' | 'replicated-together';
}

export interface Engine {
  readonly name: 'postgresql' | 'mysql';
  readonly capabilities: EngineCapabilities;
  /** Read-only look at both servers; throws when one cannot be reached. */
  discover(cfg: MigrationConfig, signal?: AbortSignal): Promise<Discovery>;
  /** The pre-migration check (read-only): results, and the method per database. */
  check(cfg: MigrationConfig, opts: CheckOptions): Promise<CheckRun>;
  /** copy.pauseWhen: watches the source while copying (engines that support it). */
  sourceGuard?(cfg: MigrationConfig, onChange: (reason: string | null) => void): Promise<SourceGuard>;
  /** The state store on the target (connection opened; nothing created until a write). */
  openStateStore(cfg: MigrationConfig): Promise<StateStore>;
  /** Instance-level work before the databases (PostgreSQL: roles). Returns lines to report. */
  prepareTarget(run: MigrationRun): Promise<string[]>;
  /** Opens one database's run: its steps execute through the session. */
  openDatabase(run: DatabaseRun): Promise<DatabaseSession>;
  /** Runs a step of the whole migration (engines/compile.ts, after every database). Returns lines to report. */
  runMigrationStep(step: Step, run: MigrationRun): Promise<string[]>;
  /** Online mode: wait for lag, sync, stop replication and clean up. Returns lines to report. */
  cutover(run: DatabasesRun): Promise<string[]>;
  /** Stop a migration and remove its replication objects on both sides. Returns what was removed. */
  cancel(run: DatabasesRun): Promise<string[]>;
  /** Live lag and change counters of replicating databases (read-only; nothing is stored). */
  liveDatabases(cfg: MigrationConfig, databases: DatabaseRecord[]): Promise<DatabaseRecord[]>;
}

/** What an engine gets to run one database's steps. */
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
  /** The database's record (status, phase, progress). */
  record: DatabaseRecorder;
  /** Aborted when the run is interrupted or another step of this database failed. */
  signal: AbortSignal;
  /** copy.maxRate: one bucket shared by every copy stream of the run. */
  limiter?: RateLimiter;
  probe: Probe;
  /** The ids of the steps this run executes (the others were done by an earlier run). */
  running: ReadonlySet<string>;
  /** Some steps were done by an earlier run (statements tolerate "already exists"). */
  resuming: boolean;
  /** The database starts over: what an earlier run left of it is removed first. */
  restart: boolean;
}

/** Where a step reports: a progress line; `figures` carry its numbers for structured logs and metrics. */
export interface StepIo {
  report(line: string, figures?: Record<string, number>): void;
}

/** One database's run: the step modules over one context. */
export interface DatabaseSession {
  runStep(step: Step, io: StepIo): Promise<void>;
  /** After the last step: record the outcome. Returns the line to show. */
  finish(): Promise<string>;
  /** A step failed: remove what must not outlive a failed run. Returns the error to report. */
  fail(error: unknown): Promise<unknown>;
  close(): Promise<void>;
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
