/**
 * The one context every MySQL step of a database runs over: its run, the control connections of
 * both sides, the snapshot's workers and GTID position, and the tables the steps hand on.
 */
import type { DatabaseRun, StepIo } from '../../engine.js';
import type { MyConnection } from '../connect.js';
import type { CopyColumn } from '../copy.js';

export interface MyTable {
  name: string;
  bytes: number;
  columns: CopyColumn[];
  /** The single integer primary key column, if any (key ranges, sampled verify). */
  intKey: string | null;
}

export interface MyDatabaseContext {
  run: DatabaseRun;
  /** Target connection without a default database. */
  admin: MyConnection;
  /** Source connection outside the snapshot. */
  control: MyConnection;
  /** Source connections inside the snapshot's transaction, one per copy worker. */
  workers: MyConnection[];
  /** GTID position of the snapshot. */
  position: string;
  tables: MyTable[];
  /** Tables whose data is copied. */
  copyList: MyTable[];
  copiedBytes: number;
  startedAt: number;
}

export interface MyStep {
  run(ctx: MyDatabaseContext, io: StepIo): Promise<void>;
}
