/**
 * snapshot: one consistent snapshot for every copy worker; the global read lock is held only
 * while they start their transactions. Replicated databases share one snapshot (one GTID
 * position for the one replica of the migration).
 */
import type { MigrationConfig } from '../../../config/types.js';
import { DbferryError } from '../../../util/errors.js';
import type { DatabaseRun } from '../../engine.js';
import { connectMysql, rows, type MyConnection } from '../connect.js';
import type { MyStep } from './context.js';

interface Snapshot {
  position: string;
  workers: Map<string, MyConnection[]>;
}

async function snapshotWorker(cfg: MigrationConfig): Promise<MyConnection> {
  const c = await connectMysql('source', cfg.source);
  await c.query('SET SESSION net_write_timeout = 3600, net_read_timeout = 3600');
  // TIMESTAMP values travel as text in the session's time zone: UTC on both sides, whatever the servers' defaults.
  await c.query("SET SESSION character_set_results = NULL, time_zone = '+00:00'");
  await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  return c;
}

/** Opens `jobs` workers per database and starts all their transactions under one brief global read lock. */
async function takeSnapshot(cfg: MigrationConfig, dbs: string[], jobs: number): Promise<Snapshot> {
  const workers = new Map<string, MyConnection[]>();
  const control = await connectMysql('source', cfg.source);
  try {
    for (const d of dbs) {
      const list: MyConnection[] = [];
      for (let i = 0; i < jobs; i++) list.push(await snapshotWorker(cfg));
      workers.set(d, list);
    }
    await control.query('FLUSH TABLES WITH READ LOCK');
    try {
      for (const list of workers.values()) for (const w of list) await w.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const [pos] = await rows<{ p: string | null }>(control, 'SELECT @@GLOBAL.gtid_binlog_pos AS p').catch(async () =>
        rows<{ p: string | null }>(control, 'SELECT @@GLOBAL.gtid_executed AS p'),
      );
      return { position: pos?.p ?? '', workers };
    } finally {
      await control.query('UNLOCK TABLES');
    }
  } catch (e) {
    for (const list of workers.values()) for (const w of list) await w.end().catch(() => undefined);
    throw e;
  } finally {
    await control.end().catch(() => undefined);
  }
}

const shared = new Map<string, Promise<Snapshot>>();

/** The one snapshot of every database this migration replicates (taken by the first to ask). */
function sharedSnapshot(run: DatabaseRun): Promise<Snapshot> {
  let p = shared.get(run.cfg.name);
  if (!p) {
    p = (async () => {
      const dbs = (await run.store.getDatabases(run.cfg.name))
        .filter((d) => d.method === 'replication' && d.phase !== 'syncing' && d.phase !== 'verified')
        .map((d) => d.dbname);
      return takeSnapshot(run.cfg, dbs.includes(run.database) ? dbs : [...dbs, run.database], Math.max(1, run.jobs));
    })();
    shared.set(run.cfg.name, p);
  }
  return p;
}

/** The replica starts from the shared snapshot: forget it once it has (or a new run takes another). */
export function forgetSharedSnapshot(migration: string): void {
  shared.delete(migration);
}

export const snapshot: MyStep = {
  async run(ctx, io) {
    const { run } = ctx;
    const snap =
      run.method === 'replication' ? await sharedSnapshot(run) : await takeSnapshot(run.cfg, [run.database], Math.max(1, run.jobs));
    ctx.workers.push(...(snap.workers.get(run.database) ?? []));
    snap.workers.delete(run.database);
    ctx.position = snap.position;
    if (ctx.workers.length === 0) throw new DbferryError('MIGRATION_FAILED', `no snapshot worker for database "${run.database}"`);
    if (run.method === 'replication') {
      if (!ctx.position)
        throw new DbferryError('MIGRATION_FAILED', 'the source reported no GTID position for the snapshot', {
          hint: 'Replication needs the binary log (log_bin) on the source.',
        });
      await run.record.save({ replicationStart: ctx.position });
    }
    io.report(`consistent snapshot taken by ${ctx.workers.length} worker(s)${ctx.position ? ` at GTID ${ctx.position}` : ''}`);
  },
};
