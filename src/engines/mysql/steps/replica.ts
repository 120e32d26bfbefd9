/** replica (online, after every database): the one replica of every copied replicated database, from their shared snapshot's position. */
import { DbferryError } from '../../../util/errors.js';
import { now } from '../../../util/time.js';
import type { MigrationRun } from '../../engine.js';
import { startReplica } from '../replication.js';
import { forgetSharedSnapshot } from './snapshot.js';

export async function startReplication(run: MigrationRun): Promise<string[]> {
  const { cfg, store } = run;
  forgetSharedSnapshot(cfg.name);
  const copied = (await store.getDatabases(cfg.name)).filter((d) => d.method === 'replication' && d.phase === 'copied');
  if (copied.length === 0) return [];
  const positions = [...new Set(copied.map((d) => d.replicationStart ?? ''))];
  if (positions.length !== 1 || !positions[0])
    throw new DbferryError(
      'MIGRATION_FAILED',
      `the replicated databases were copied at different positions (${positions.join(' / ')}); cancel and apply again`,
    );
  const dbs = copied.map((d) => d.dbname);
  await startReplica(cfg, dbs, positions[0]);
  await run.probe.at('replica-started');
  for (const d of copied) await store.upsertDatabase({ ...d, phase: 'syncing', status: 'syncing', updatedAt: now() });
  run.report(`replicating ${dbs.join(', ')} from GTID ${positions[0]} until cutover`);
  return [`replicating ${dbs.join(', ')} from GTID ${positions[0]}`];
}
