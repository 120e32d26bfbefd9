/** MySQL/MariaDB online migrations after the copy: live lag, cutover, cancel. */
import type { MigrationConfig } from '../../config/types.js';
import type { DatabaseRecord } from '../../state/types.js';
import { DbferryError } from '../../util/errors.js';
import { formatDuration } from '../../util/sizes.js';
import { rows, withMysql } from './connect.js';
import { qi } from './sql.js';
import { removeReplica, replicaStatus, waitCaughtUp } from './replication.js';
import { now, sleep } from '../../util/time.js';
import { transition } from '../../state/transitions.js';
import type { DatabasesRun } from '../engine.js';

export async function liveMysql(cfg: MigrationConfig, dbs: DatabaseRecord[]): Promise<DatabaseRecord[]> {
  if (!dbs.some((d) => d.status === 'syncing')) return dbs;
  const st = await withMysql('target', cfg.target, {}, (c) => replicaStatus(c));
  return dbs.map((d) =>
    d.status !== 'syncing'
      ? d
      : {
          ...d,
          lag: st?.secondsBehind ?? null,
          error: !st
            ? 'replication is not configured on the target'
            : st.lastError
              ? `replication stopped: ${st.lastError}`
              : st.ioRunning !== 'Yes' || st.sqlRunning !== 'Yes'
                ? `replication threads: IO ${st.ioRunning}, SQL ${st.sqlRunning}`
                : d.error,
        },
  );
}

export async function cutoverMysql(run: DatabasesRun): Promise<string[]> {
  const { cfg, store, databases: only, report, signal } = run;
  const m = await store.getMigration(cfg.name);
  if (!m) throw new DbferryError('NOT_FOUND', `no migration named "${cfg.name}" is recorded on the ${store.location}`);
  const syncing = (await store.getDatabases(cfg.name)).filter((d) => d.status === 'syncing');
  const dbs = syncing.filter((d) => only.length === 0 || only.includes(d.dbname));
  if (dbs.length === 0)
    throw new DbferryError(
      'STATE_CONFLICT',
      `migration "${cfg.name}" has no database waiting for cutover (state ${m.state} / ${m.substate})`,
    );
  // One replica serves every replicated database: stopping it for some would leave the others
  // recorded as syncing while nothing replicates them.
  const sharing = syncing.filter((d) => !dbs.includes(d)).map((d) => d.dbname);
  if (sharing.length) {
    throw new DbferryError(
      'USAGE',
      `cutover --db ${only.join(', ')} refused: one replica on the target replicates ${syncing.map((d) => d.dbname).join(', ')} together, so ${sharing.join(', ')} would stop replicating too`,
      {
        hint: `Cut them over together: \`dbferry cutover\` (or --db ${syncing.map((d) => d.dbname).join(' --db ')}).`,
      },
    );
  }
  await store.updateMigration(cfg.name, transition.cuttingOver());
  await withMysql('target', cfg.target, {}, async (c) => {
    for (;;) {
      const st = await replicaStatus(c);
      if (!st)
        throw new DbferryError('MIGRATION_FAILED', 'replication is not configured on the target any more', {
          hint: 'Cancel this migration and start it again.',
        });
      if (st.lastError) throw new DbferryError('MIGRATION_FAILED', `replication stopped: ${st.lastError}`);
      report(`lag ${st.secondsBehind ?? '?'} s (maxLag ${cfg.replication.maxLag} s)`);
      if (st.secondsBehind !== null && st.secondsBehind <= cfg.replication.maxLag) break;
      await sleep(500, signal);
    }
  });
  const paused = await waitCaughtUp(cfg, report, signal);
  await removeReplica(cfg);
  const lines: string[] = [];
  for (const d of dbs) {
    if (cfg.verify !== 'none') {
      const tables = await withMysql('source', cfg.source, {}, (c) =>
        rows<{ t: string }>(
          c,
          `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`,
          [d.dbname],
        ),
      );
      const bad = await withMysql('source', cfg.source, {}, (s) =>
        withMysql('target', cfg.target, {}, async (g) => {
          const out: string[] = [];
          for (const { t } of tables) {
            const q = `SELECT COUNT(*) AS n FROM ${qi(d.dbname)}.${qi(t)}`;
            const [[a], [b]] = await Promise.all([rows<{ n: string }>(s, q), rows<{ n: string }>(g, q)]);
            if (String(a?.n) !== String(b?.n)) out.push(`${t} (${a?.n} rows on the source, ${b?.n} on the target)`);
          }
          return out;
        }),
      );
      if (bad.length) {
        await store.upsertDatabase({ ...d, status: 'failed', error: `verify failed: ${bad.join('; ')}`, updatedAt: now() });
        throw new DbferryError('MIGRATION_FAILED', `verify failed after cutover in "${d.dbname}": ${bad.join('; ')}`, {
          hint: 'Were writes still going to the source during cutover?',
        });
      }
    }
    await store.upsertDatabase({ ...d, status: 'done', phase: 'verified', lag: 0, error: null, updatedAt: now() });
    lines.push(`${d.dbname}: cut over; replication stopped and removed; writes had to be paused for ${formatDuration(paused)}`);
  }
  const left = (await store.getDatabases(cfg.name)).filter((x) => x.status !== 'done');
  await store.updateMigration(cfg.name, transition.afterCutover(left.length, null, now()));
  return lines;
}

/** Stops the migration's one replica (every replicated database: MySQL cannot cancel some of them). */
export async function cancelMysql(run: DatabasesRun): Promise<string[]> {
  const { cfg, store, report } = run;
  const m = await store.getMigration(cfg.name);
  if (m) await store.updateMigration(cfg.name, transition.cleaningUp());
  const removed = await removeReplica(cfg);
  report(
    removed
      ? 'replication stopped and its configuration removed on the target'
      : 'no replication of this migration was configured on the target',
  );
  for (const d of await store.getDatabases(cfg.name))
    if (d.status !== 'done') await store.upsertDatabase({ ...d, status: 'canceled', lag: null, updatedAt: now() });
  if (m) await store.updateMigration(cfg.name, transition.canceled(now()));
  return [
    removed
      ? 'removed the replica configuration (STOP SLAVE, RESET SLAVE ALL, filters and gtid_slave_pos cleared)'
      : 'no replication of this migration was found',
  ];
}
