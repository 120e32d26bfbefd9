/**
 * MariaDB replication into the target from the copy's GTID position: configure, follow, catch up,
 * and remove it without leaving a replica configuration behind.
 */
import type { MigrationConfig } from '../../config/types.js';
import { DbferryError } from '../../util/errors.js';
import { connectMysql, rows, withMysql, type MyConnection } from './connect.js';

export interface ReplicaStatus {
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  lastError: string;
  masterHost: string;
  masterPort: number;
}

export async function replicaStatus(c: MyConnection): Promise<ReplicaStatus | undefined> {
  const [r] = await rows<Record<string, string | null>>(c, 'SHOW SLAVE STATUS');
  if (!r) return undefined;
  return {
    ioRunning: r.Slave_IO_Running ?? '',
    sqlRunning: r.Slave_SQL_Running ?? '',
    secondsBehind: r.Seconds_Behind_Master === null || r.Seconds_Behind_Master === undefined ? null : Number(r.Seconds_Behind_Master),
    lastError: [r.Last_IO_Error, r.Last_SQL_Error].filter((x) => x).join('; '),
    masterHost: r.Master_Host ?? '',
    masterPort: Number(r.Master_Port ?? 0),
  };
}

async function flavorOf(c: MyConnection): Promise<'mariadb' | 'mysql'> {
  const [v] = await rows<{ v: string }>(c, 'SELECT VERSION() AS v');
  return /mariadb/i.test(v?.v ?? '') ? 'mariadb' : 'mysql';
}

/** Points the target at the source from `gtid` (MariaDB: slave_pos), filtered to the database. */
export async function startReplica(cfg: MigrationConfig, db: string, gtid: string): Promise<void> {
  await withMysql('target', cfg.target, {}, async (c) => {
    if ((await flavorOf(c)) !== 'mariadb') {
      throw new DbferryError('NOT_IMPLEMENTED', 'MySQL 8 replication (CHANGE REPLICATION SOURCE TO) is not implemented in this version of dbferry', { hint: 'Use method: dump.' });
    }
    const current = await replicaStatus(c);
    if (current && current.masterHost && !(current.masterHost === cfg.source.host && current.masterPort === cfg.source.port)) {
      throw new DbferryError('STATE_CONFLICT', `the target already replicates from ${current.masterHost}:${current.masterPort}`, { hint: 'dbferry will not overwrite another replication setup; remove it first.' });
    }
    await c.query('STOP SLAVE').catch(() => undefined);
    await c.query('SET GLOBAL replicate_do_db = ?', [db]);
    await c.query('SET GLOBAL gtid_slave_pos = ?', [gtid]);
    await c.query(
      `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos${cfg.source.ssl === 'disable' ? '' : ', MASTER_SSL = 1'}`,
      [cfg.source.host, cfg.source.port, cfg.source.user, cfg.source.password ?? ''],
    );
    await c.query('START SLAVE');
  });
}

/** Stops replication and removes its configuration (RESET SLAVE ALL leaves the position and filter set: clear them). */
export async function removeReplica(cfg: MigrationConfig): Promise<boolean> {
  return withMysql('target', cfg.target, {}, async (c) => {
    const st = await replicaStatus(c);
    if (st && st.masterHost && !(st.masterHost === cfg.source.host && st.masterPort === cfg.source.port)) return false;
    await c.query('STOP SLAVE').catch(() => undefined);
    await c.query('RESET SLAVE ALL').catch(() => undefined);
    await c.query("SET GLOBAL replicate_do_db = ''");
    await c.query("SET GLOBAL gtid_slave_pos = ''");
    return st !== undefined;
  });
}

/** Waits until the target has applied the source's current position; returns the seconds waited. */
export async function waitCaughtUp(cfg: MigrationConfig, report: (l: string) => void, signal?: AbortSignal): Promise<number> {
  const [pos] = await withMysql('source', cfg.source, {}, (c) => rows<{ p: string }>(c, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'));
  const target = pos?.p ?? '';
  report(`waiting for the target to apply GTID ${target} (stop writes on the source now)`);
  const t0 = Date.now();
  const c: MyConnection = await connectMysql('target', cfg.target);
  try {
    for (;;) {
      signal?.throwIfAborted();
      const [r] = await rows<{ w: number | string | null }>(c, 'SELECT MASTER_GTID_WAIT(?, 5) AS w', [target]);
      if (Number(r?.w) === 0) break;
      const st = await replicaStatus(c);
      if (st?.lastError) throw new DbferryError('MIGRATION_FAILED', `replication on the target stopped: ${st.lastError}`);
      report(`still waiting for GTID ${target} (${st?.secondsBehind ?? '?'} s behind)`);
    }
  } finally {
    await c.end().catch(() => undefined);
  }
  return (Date.now() - t0) / 1000;
}
