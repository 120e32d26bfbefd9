/**
 * Replication into the target from the copy's GTID position (MariaDB and MySQL 8 through the
 * dialect): configure, follow, catch up, and remove it without leaving a configuration behind.
 */
import type { MigrationConfig } from '../../config/types.js';
import { DbferryError } from '../../util/errors.js';
import { connectMysql, rows, withMysql, type MyConnection } from './connect.js';
import { configureReplica, dialectFor, removeReplicaStatements, statusColumns, waitForGtidSql, type Dialect } from './dialect.js';

export interface ReplicaStatus {
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  lastError: string;
  masterHost: string;
  masterPort: number;
}

export async function dialectOf(c: MyConnection): Promise<Dialect> {
  const [v] = await rows<{ v: string }>(c, 'SELECT VERSION() AS v');
  const version = v?.v ?? '0.0.0';
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const num = m ? Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]) : 0;
  return dialectFor(/mariadb/i.test(version) ? 'mariadb' : 'mysql', num);
}

export async function replicaStatus(c: MyConnection, d?: Dialect): Promise<ReplicaStatus | undefined> {
  const dialect = d ?? (await dialectOf(c));
  const col = statusColumns(dialect);
  const [r] = await rows<Record<string, string | null>>(c, dialect.showReplicaStatus);
  if (!r) return undefined;
  const behind = r[col.behind];
  return {
    ioRunning: r[col.io] ?? '',
    sqlRunning: r[col.sql] ?? '',
    secondsBehind: behind === null || behind === undefined ? null : Number(behind),
    lastError: [r.Last_IO_Error, r.Last_SQL_Error].filter((x) => x).join('; '),
    masterHost: r[col.host] ?? '',
    masterPort: Number(r[col.port] ?? 0),
  };
}

const ours = (cfg: MigrationConfig, st: ReplicaStatus): boolean => st.masterHost === cfg.source.host && st.masterPort === cfg.source.port;

/** Points the target at the source from `gtid`, filtered to the databases. */
export async function startReplica(cfg: MigrationConfig, dbs: string[], gtid: string): Promise<void> {
  await withMysql('target', cfg.target, {}, async (c) => {
    const d = await dialectOf(c);
    const current = await replicaStatus(c, d);
    if (current && current.masterHost && !ours(cfg, current)) {
      throw new DbferryError('STATE_CONFLICT', `the target already replicates from ${current.masterHost}:${current.masterPort}`, {
        hint: 'dbferry will not overwrite another replication setup; remove it first.',
      });
    }
    await c.query(d.stopReplica).catch(() => undefined);
    const src = {
      host: cfg.source.host,
      port: cfg.source.port,
      user: cfg.source.user,
      password: cfg.source.password ?? '',
      ssl: cfg.source.ssl !== 'disable',
    };
    for (const st of configureReplica(d, src, dbs, gtid)) await c.query(st.sql, st.params);
  });
}

/** Stops replication and removes its configuration; false when none of ours was there. */
export async function removeReplica(cfg: MigrationConfig): Promise<boolean> {
  return withMysql('target', cfg.target, {}, async (c) => {
    const d = await dialectOf(c);
    const st = await replicaStatus(c, d);
    if (st && st.masterHost && !ours(cfg, st)) return false;
    for (const s of removeReplicaStatements(d))
      await c.query(s.sql, s.params).catch((e: unknown) => {
        if (!/STOP|RESET/.test(s.sql)) throw e;
      });
    return st !== undefined;
  });
}

/** Waits until the target has executed the source's current position; returns the seconds waited. */
export async function waitCaughtUp(cfg: MigrationConfig, report: (l: string) => void, signal?: AbortSignal): Promise<number> {
  const target = await withMysql('source', cfg.source, {}, async (c) => {
    const d = await dialectOf(c);
    const [pos] = await rows<{ p: string }>(c, `SELECT @@GLOBAL.${d.gtidPositionVariable} AS p`);
    return pos?.p ?? '';
  });
  report(`waiting for the target to apply GTID ${target} (stop writes on the source now)`);
  const t0 = Date.now();
  const c: MyConnection = await connectMysql('target', cfg.target);
  try {
    const d = await dialectOf(c);
    for (;;) {
      signal?.throwIfAborted();
      const [r] = await rows<{ w: number | string | null }>(c, waitForGtidSql(d), [target, 5]);
      if (Number(r?.w) === 0) break;
      const st = await replicaStatus(c, d);
      if (st?.lastError) throw new DbferryError('MIGRATION_FAILED', `replication on the target stopped: ${st.lastError}`);
      report(`still waiting for GTID ${target} (${st?.secondsBehind ?? '?'} s behind)`);
    }
  } finally {
    await c.end().catch(() => undefined);
  }
  return (Date.now() - t0) / 1000;
}
