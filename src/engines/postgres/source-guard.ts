/**
 * copy.pauseWhen on a PostgreSQL source: a read-only connection that checks every second how many
 * client connections the source has (dbferry's own not counted) and how far its physical standbys
 * lag, and names the reason to pause while a limit is exceeded.
 */
import type { MigrationConfig } from '../../config/types.js';
import { formatBytes } from '../../util/sizes.js';
import type { SourceGuard } from '../engine.js';
import { connectPg } from './connect.js';

/** The reason to pause for these readings, or null. Pure. */
export function pauseReason(
  limits: MigrationConfig['copy']['pauseWhen'],
  readings: { connections: number; standbyLag: number | null },
): string | null {
  if (limits.sourceConnectionsAbove !== null && readings.connections > limits.sourceConnectionsAbove) {
    return `${readings.connections} client connections on the source > ${limits.sourceConnectionsAbove} (copy.pauseWhen.sourceConnectionsAbove)`;
  }
  if (limits.standbyLagAbove !== null && readings.standbyLag !== null && readings.standbyLag > limits.standbyLagAbove) {
    return `a standby of the source lags ${formatBytes(readings.standbyLag)} > ${formatBytes(limits.standbyLagAbove)} (copy.pauseWhen.standbyLagAbove)`;
  }
  return null;
}

const READINGS = `SELECT
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND coalesce(application_name, '') NOT LIKE 'dbferry%' AND pid <> pg_backend_pid())::int AS connections,
  (SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)) FROM pg_stat_replication r
    WHERE r.replay_lsn IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.active_pid = r.pid AND s.slot_type = 'logical'))::text AS lag`;

export async function startPgSourceGuard(cfg: MigrationConfig, onChange: (reason: string | null) => void): Promise<SourceGuard> {
  const c = await connectPg('source', cfg.source, { readOnly: true, applicationName: 'dbferry-guard' });
  let reason: string | null = null;
  let stopped = false;
  const check = async (): Promise<void> => {
    const row = (await c.query<{ connections: number; lag: string | null }>(READINGS)).rows[0];
    const next = pauseReason(cfg.copy.pauseWhen, {
      connections: row?.connections ?? 0,
      standbyLag: row?.lag === null || row?.lag === undefined ? null : Number(row.lag),
    });
    if (next !== reason) {
      reason = next;
      onChange(reason);
    }
  };
  await check();
  const timer = setInterval(() => {
    if (!stopped) void check().catch(() => undefined);
  }, 1000);
  return {
    reason: () => reason,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await c.end().catch(() => undefined);
    },
  };
}
