/** Constructors of state records. Pure. */
import type { DatabaseRecord } from './types.js';

export function newDatabaseRecord(
  migration: string,
  dbname: string,
  method: 'dump' | 'replication',
  fallbackReason: string | null,
): DatabaseRecord {
  return {
    migration,
    dbname,
    method,
    fallbackReason,
    status: 'waiting',
    tablesTotal: 0,
    tablesQueued: 0,
    tablesLoading: 0,
    tablesCompleted: 0,
    tablesErrored: 0,
    bytesTotal: 0,
    bytesCopied: 0,
    cdcInserts: 0,
    cdcUpdates: 0,
    cdcDeletes: 0,
    lag: null,
    error: null,
    phase: null,
    cdcBaseline: null,
    replicationStart: null,
    updatedAt: new Date().toISOString(),
  };
}
