/** One database's record in the state store, updated by patches (the run's progress and outcome). */
import { newDatabaseRecord } from '../state/records.js';
import type { DatabaseRecord, StateStore } from '../state/types.js';
import { now } from '../util/time.js';

export class DatabaseRecorder {
  private rec: DatabaseRecord;

  private constructor(
    private readonly store: StateStore,
    rec: DatabaseRecord,
  ) {
    this.rec = rec;
  }

  static async open(store: StateStore, migration: string, db: string, method: 'dump' | 'replication'): Promise<DatabaseRecorder> {
    const rec = (await store.getDatabases(migration)).find((d) => d.dbname === db) ?? newDatabaseRecord(migration, db, method, null);
    return new DatabaseRecorder(store, rec);
  }

  get current(): DatabaseRecord {
    return this.rec;
  }

  async save(patch: Partial<DatabaseRecord>): Promise<void> {
    this.rec = { ...this.rec, ...patch, updatedAt: now() };
    await this.store.upsertDatabase(this.rec);
  }
}
