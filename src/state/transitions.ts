/**
 * Every migration state transition, in one place (the commands and engines record these patches,
 * never states of their own). Pure: the recorded state must never contradict the servers (a
 * replicating database under a Failed migration).
 */
import type { DatabaseRecord, MigrationRecord } from './types.js';

export type MigrationPatch = Partial<Pick<MigrationRecord, 'state' | 'substate' | 'error' | 'endedAt'>>;

/** The migration's states, by what just happened. */
export const transition = {
  /** apply took the migration (new or resumed). */
  started: (): MigrationPatch => ({ state: 'InProgress', substate: 'PerformingPreRequisiteSteps', error: null, endedAt: null }),
  checkFailed: (failed: number, at: string): MigrationPatch => ({
    state: 'ValidationFailed',
    substate: 'Failed',
    error: `${failed} pre-migration check(s) failed`,
    endedAt: at,
  }),
  /** Option Validate: the check is all there is to do. */
  validated: (at: string): MigrationPatch => ({ state: 'Succeeded', substate: 'Completed', error: null, endedAt: at }),
  preparingTarget: (): MigrationPatch => ({ substate: 'PerformingPreRequisiteSteps' }),
  migratingData: (): MigrationPatch => ({ substate: 'MigratingData' }),
  succeeded: (at: string): MigrationPatch => ({ state: 'Succeeded', substate: 'Completed', error: null, endedAt: at }),
  waitingForCutover: (error: string | null = null): MigrationPatch => ({
    state: 'InProgress',
    substate: 'WaitingForCutoverTrigger',
    error,
  }),
  cuttingOver: (): MigrationPatch => ({ state: 'InProgress', substate: 'CompletingMigration', error: null }),
  /** Cutover refused until the user acts (schema drift). */
  cutoverRefused: (error: string): MigrationPatch => ({ state: 'WaitingForUserAction', substate: 'WaitingForCutoverTrigger', error }),
  /** After a cutover of some databases: Succeeded once none is left. */
  afterCutover: (left: number, error: string | null, at: string): MigrationPatch =>
    left === 0 ? transition.succeeded(at) : transition.waitingForCutover(error),
  cleaningUp: (): MigrationPatch => ({ state: 'CleaningUp' }),
  canceled: (at: string): MigrationPatch => ({ state: 'Canceled', error: null, endedAt: at }),
  cancelIncomplete: (errors: string[]): MigrationPatch => ({
    state: 'Failed',
    substate: 'Failed',
    error: `cancel incomplete: ${errors.join('; ')}`,
  }),
};

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
