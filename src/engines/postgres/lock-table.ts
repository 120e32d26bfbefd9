/**
 * The size of a PostgreSQL server's shared lock table, as the server sizes it:
 * max_locks_per_transaction × (max_connections + autovacuum_max_workers + 1 +
 * max_worker_processes + max_wal_senders + max_prepared_transactions). Pure.
 */
export type LockSettings = Partial<
  Record<
    | 'max_locks_per_transaction'
    | 'max_connections'
    | 'autovacuum_max_workers'
    | 'max_worker_processes'
    | 'max_wal_senders'
    | 'max_prepared_transactions',
    string
  >
>;

export const LOCK_SETTINGS = [
  'max_locks_per_transaction',
  'max_connections',
  'autovacuum_max_workers',
  'max_worker_processes',
  'max_wal_senders',
  'max_prepared_transactions',
] as const;

export function lockTableSize(s: LockSettings): { slots: number; capacity: number } {
  const n = (v: string | undefined, byDefault: number): number => (v === undefined ? byDefault : Number(v));
  const slots =
    n(s.max_connections, 100) +
    n(s.autovacuum_max_workers, 3) +
    1 +
    n(s.max_worker_processes, 8) +
    n(s.max_wal_senders, 10) +
    n(s.max_prepared_transactions, 0);
  return { slots, capacity: n(s.max_locks_per_transaction, 64) * slots };
}
