/**
 * The one context every PostgreSQL step of a database runs over: its run (config, store, record,
 * probe, signal), the source connection holding the snapshot transaction, the snapshot, and what
 * the steps hand to each other (the schema script, tables ready to copy, tables analyzed).
 */
import type { DatabaseRun, StepIo } from '../../engine.js';
import type { PgClient } from '../connect.js';
import type { SlotSnapshot } from '../replication.js';
import type { SchemaScript } from './schema-script.js';
import type { Handoff } from '../../../util/handoff.js';
import type { UnitTracker } from './units.js';

/** A table ready to copy; with `unit`, the copy worker creates it first and indexes it after the load (a table unit). */
export interface ReadyTable {
  schema: string;
  name: string;
  unit?: { create: string; indexes: string };
}

export interface SourceDatabase {
  versionNum: number;
  encoding: string;
  collate: string;
  ctype: string;
  blockSize: number;
}

export interface PgDatabaseContext {
  run: DatabaseRun;
  /** pg_dump of a major at least the source's. */
  pgDump: string;
  /** Replication slot, publications and subscription of this database. */
  objectName: string;
  /** Source connection in a REPEATABLE READ transaction on the snapshot (after the snapshot step). */
  exporter: PgClient;
  source: SourceDatabase;
  /** The exported snapshot every worker and pg_dump imports ('' until the snapshot step). */
  snapshot: string;
  slot: SlotSnapshot | undefined;
  /** pg_dump's scripts, understood; loaded once, by the first step that needs them. */
  script: () => Promise<SchemaScript>;
  /** Tables whose schema batch committed, and table units, from schema-pre-data to copy-data. */
  tablesReady: Handoff<ReadyTable>;
  /** Table units the copy workers committed, for schema-pre-data to wait on. */
  units: UnitTracker;
  /** Tables analyzed during the copy (the analyze step does the others). */
  analyzed: Set<string>;
  startedAt: number;
}

export interface PgStep {
  run(ctx: PgDatabaseContext, io: StepIo): Promise<void>;
}

export const tableKey = (schema: string, name: string): string => `${schema}\u0000${name}`;
