/** The migration state recorded on the target server (SPEC §4). */
export const MIGRATION_STATES = [
  'InProgress',
  'WaitingForUserAction',
  'Canceled',
  'Failed',
  'Succeeded',
  'ValidationFailed',
  'CleaningUp',
] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];
export const MIGRATION_SUBSTATES = [
  'PerformingPreRequisiteSteps',
  'ValidationInProgress',
  'MigratingData',
  'WaitingForCutoverTrigger',
  'CompletingMigration',
  'Completed',
  'Failed',
] as const;
export type MigrationSubstate = (typeof MIGRATION_SUBSTATES)[number];
export const ACTIVE_STATES: readonly MigrationState[] = ['InProgress', 'WaitingForUserAction', 'CleaningUp'];

/**
 * Where a database's migration stands. created, schema, data, post-data, finalized: the dump
 * method's phases; copied: a MySQL replicated database waiting for the one replica of the
 * migration; syncing: replicating until cutover; verified: done.
 */
export const DATABASE_PHASES = ['created', 'schema', 'data', 'post-data', 'finalized', 'copied', 'syncing', 'verified'] as const;
export type DatabasePhase = (typeof DATABASE_PHASES)[number];

/** A step of the plan as run: done steps are skipped by a re-run (see engines/resume.ts). */
export type StepState = 'running' | 'done' | 'failed';

export interface StepRecord {
  migration: string;
  /** '' for the migration's own steps (register, roles). */
  dbname: string;
  /** The plan step's id. */
  step: string;
  state: StepState;
  updatedAt: string;
}

export type DatabaseStatus = 'waiting' | 'running' | 'syncing' | 'done' | 'failed' | 'canceled';
export type DatabaseMethod = 'dump' | 'replication';
export type CheckResultValue = 'Succeeded' | 'Warning' | 'Failed';

export interface MigrationRecord {
  name: string;
  engine: string;
  mode: string;
  option: string;
  method: string;
  state: MigrationState;
  substate: MigrationSubstate;
  error: string | null;
  configFingerprint: string;
  sourceFingerprint: string | null;
  plan: unknown;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface DatabaseRecord {
  migration: string;
  dbname: string;
  method: DatabaseMethod;
  fallbackReason: string | null;
  status: DatabaseStatus;
  tablesTotal: number;
  tablesQueued: number;
  tablesLoading: number;
  tablesCompleted: number;
  tablesErrored: number;
  bytesTotal: number;
  bytesCopied: number;
  cdcInserts: number;
  cdcUpdates: number;
  cdcDeletes: number;
  lag: number | null;
  error: string | null;
  /** The last phase reached, for status (resume reads the step records). */
  phase: DatabasePhase | null;
  /** Online: the target's insert,update,delete counters when replication started (CDC = now - this). */
  cdcBaseline: string | null;
  /** Online (MySQL): the GTID position of the copy's snapshot, where replication starts. */
  replicationStart: string | null;
  /** Online: when the target last heard from the source's replication (live, from the subscription). */
  lastChangeAt?: string | null;
  updatedAt: string;
}

export interface TableRecord {
  migration: string;
  dbname: string;
  schema: string;
  table: string;
  done: boolean;
  rows: number;
  bytes: number;
  updatedAt: string;
}

export interface ValidationRecord {
  migration: string;
  checkId: string;
  level: 'instance' | 'database';
  dbname: string;
  result: CheckResultValue;
  message: string;
  hint: string;
}

export interface StateStore {
  /** Where the state lives, for messages (e.g. `target postgres@host:5432, schema dbferry`). */
  readonly location: string;
  /** Whether the store exists (reading never creates it). */
  exists(): Promise<boolean>;
  /** Creates the store if missing (first write). */
  ensure(): Promise<void>;
  listMigrations(filter: 'active' | 'all'): Promise<MigrationRecord[]>;
  getMigration(name: string): Promise<MigrationRecord | undefined>;
  getDatabases(name: string): Promise<DatabaseRecord[]>;
  getTables(name: string, dbname?: string): Promise<TableRecord[]>;
  getValidations(name: string): Promise<ValidationRecord[]>;
  /** Inserts a new migration; false when the name already exists. */
  createMigration(rec: MigrationRecord): Promise<boolean>;
  updateMigration(name: string, patch: Partial<Omit<MigrationRecord, 'name' | 'createdAt'>>): Promise<void>;
  upsertDatabase(rec: DatabaseRecord): Promise<void>;
  /** Records table progress, many rows in one statement. */
  upsertTables(recs: TableRecord[]): Promise<void>;
  replaceValidations(name: string, recs: ValidationRecord[]): Promise<void>;
  getSteps(name: string): Promise<StepRecord[]>;
  recordStep(rec: StepRecord): Promise<void>;
  /** Forgets one database's step records (it starts over). */
  resetSteps(name: string, dbname: string): Promise<void>;
  /** Forgets the table progress of one database (its copy starts over). */
  resetTables(name: string, dbname: string): Promise<void>;
  /** Session lock on the migration name: false when another process holds it. */
  tryLock(name: string): Promise<boolean>;
  unlock(name: string): Promise<void>;
  withRegistrationLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
