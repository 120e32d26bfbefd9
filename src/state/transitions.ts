/**
 * Migration state transitions that depend on what the databases are doing. Pure: the recorded
 * state must never contradict the servers (a replicating database under a Failed migration).
 */
import type { DatabaseRecord, MigrationRecord } from './types.js';

export type MigrationPatch = Partial<Pick<MigrationRecord, 'state' | 'substate' | 'error' | 'endedAt'>>;

/**
 * The state to record when a run of `apply` stops before its end, interrupted or by an error.
 * While any database is still replicating the migration stays InProgress (the servers are
 * working on it) and `apply` again resumes it; otherwise an error makes it Failed.
 */
export function stateAfterStoppedRun(
  databases: readonly DatabaseRecord[],
  stop: { interrupted: boolean; message: string; at: string },
): MigrationPatch {
  const syncing = databases.filter((d) => d.status === 'syncing').map((d) => d.dbname);
  const allReplicatingOrDone = databases.length > 0 && databases.every((d) => d.status === 'syncing' || d.status === 'done');
  const substate = syncing.length > 0 && allReplicatingOrDone ? 'WaitingForCutoverTrigger' : 'MigratingData';
  if (stop.interrupted) {
    return { state: 'InProgress', substate, error: 'interrupted; run `dbferry apply` again to resume', endedAt: null };
  }
  if (syncing.length > 0) {
    const names = syncing.map((d) => `"${d}"`).join(', ');
    return {
      state: 'InProgress',
      substate,
      error: `${stop.message} (replication of ${names} is still running: fix the cause and run \`dbferry apply\` again to resume, or \`dbferry cancel\`)`,
      endedAt: null,
    };
  }
  return { state: 'Failed', substate: 'Failed', error: stop.message, endedAt: stop.at };
}
