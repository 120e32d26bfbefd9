/**
 * Logical replication objects on real servers: publication and slot (with the copy's exported
 * snapshot) on the source, subscription on the target; lag; and cleanup that leaves nothing
 * behind, also after a crash (objects are found by name).
 */
import type { MigrationConfig } from '../../config/types.js';
import { connectPg, withPg, type PgClient } from './connect.js';
import {
  createPublicationSql,
  createSlotCommand,
  createSubscriptionSql,
  dropSubscriptionSql,
  keylessPublicationName,
  ownObjectNames,
  replicationPrefix,
  subscriptionConninfo,
} from './replication-sql.js';
import { qi, ql } from './sql.js';

export interface SlotSnapshot {
  snapshot: string;
  consistentPoint: string;
  /** The replication connection: keep it idle until every worker imported the snapshot. */
  conn: PgClient;
}

type TableName = { schema: string; name: string };

/** The publication of the tables with a key, and the inserts-only one of the tables without. */
export async function createPublication(
  c: PgClient,
  name: string,
  tables: TableName[],
  replicaIdentityFull: TableName[],
  keyless: TableName[],
): Promise<void> {
  for (const t of replicaIdentityFull) await c.query(`ALTER TABLE ${qi(t.schema)}.${qi(t.name)} REPLICA IDENTITY FULL`);
  await c.query(createPublicationSql(name, tables));
  await c.query(createPublicationSql(keylessPublicationName(name), keyless, true));
}

/** Creates the slot on a replication connection; its exported snapshot is the copy's. */
export async function createSlotWithSnapshot(cfg: MigrationConfig, db: string, name: string): Promise<SlotSnapshot> {
  const conn = await connectPg('source', cfg.source, { database: db, replication: true, applicationName: 'dbferry-slot' });
  try {
    const r = await conn.query<{ slot_name: string; consistent_point: string; snapshot_name: string }>(createSlotCommand(name));
    const row = r.rows[0];
    if (!row?.snapshot_name) throw new Error('the source did not export a snapshot with the replication slot');
    return { snapshot: row.snapshot_name, consistentPoint: row.consistent_point, conn };
  } catch (e) {
    await conn.end().catch(() => undefined);
    throw e;
  }
}

export async function createSubscription(cfg: MigrationConfig, db: string, name: string): Promise<void> {
  await withPg('target', cfg.target, { database: db }, async (c) => {
    await c.query(createSubscriptionSql(name, subscriptionConninfo(cfg.source, db)));
  });
}

/** Drops the subscription on the target if it exists (never touching the source's slot). */
export async function dropSubscription(cfg: MigrationConfig, db: string, name: string): Promise<boolean> {
  return withPg('target', cfg.target, {}, async (admin) => {
    const exists =
      (
        await admin.query(
          `SELECT 1 FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname = $1 AND d.datname = $2`,
          [name, db],
        )
      ).rowCount === 1;
    if (!exists) return false;
    await withPg('target', cfg.target, { database: db }, async (c) => {
      for (const sql of dropSubscriptionSql(name)) await c.query(sql);
    });
    return true;
  });
}

/** Drops the slot (waiting for its walsender to go) and the publication on the source. */
export async function dropSourceObjects(cfg: MigrationConfig, db: string, name: string): Promise<{ slot: boolean; publication: boolean }> {
  const slot = await withPg('source', cfg.source, {}, async (c) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const r = await c.query<{ active_pid: number | null }>('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [name]);
      const row = r.rows[0];
      if (!row) return attempt > 0;
      if (row.active_pid !== null) {
        if (attempt >= 10) await c.query('SELECT pg_terminate_backend($1)', [row.active_pid]);
        await new Promise((res) => setTimeout(res, 200));
        continue;
      }
      try {
        await c.query('SELECT pg_drop_replication_slot($1)', [name]);
        return true;
      } catch (e) {
        if (!/is active/.test(String((e as Error).message))) throw e;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    throw new Error(`replication slot ${name} stayed active on the source`);
  });
  const dbExists = await withPg(
    'source',
    cfg.source,
    {},
    async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1,
  );
  const publication = dbExists
    ? await withPg('source', cfg.source, { database: db }, async (c) => {
        const r = await c.query<{ p: string }>('SELECT pubname AS p FROM pg_publication WHERE pubname = ANY ($1)', [
          [name, keylessPublicationName(name)],
        ]);
        for (const { p } of r.rows) await c.query(`DROP PUBLICATION ${qi(p)}`);
        return r.rows.length > 0;
      })
    : false;
  return { slot, publication };
}

export interface Leftovers {
  slots: string[];
  publications: { db: string; name: string }[];
  subscriptions: { db: string; name: string }[];
  origins: string[];
}

/**
 * Every replication object of a migration on both servers: named as this migration names them for
 * one of the source's databases (or one of `databases`), whatever the current config selects.
 */
export async function findLeftovers(cfg: MigrationConfig, databases: string[]): Promise<Leftovers> {
  const prefix = replicationPrefix(cfg.name).replace(/_/g, '\\_');
  const existing = await withPg('source', cfg.source, {}, async (c) =>
    (await c.query<{ d: string }>('SELECT datname AS d FROM pg_database')).rows.map((r) => r.d),
  );
  const own = ownObjectNames(cfg.name, [...new Set([...existing, ...databases])]);
  const slots = await withPg('source', cfg.source, {}, async (c) =>
    (
      await c.query<{ n: string }>(`SELECT slot_name AS n FROM pg_replication_slots WHERE slot_name LIKE $1 || '%' ORDER BY 1`, [prefix])
    ).rows
      .map((r) => r.n)
      .filter((n) => own.has(n)),
  );
  const publications: { db: string; name: string }[] = [];
  const connectable = await withPg('source', cfg.source, {}, async (c) =>
    (await c.query<{ d: string }>('SELECT datname AS d FROM pg_database WHERE datallowconn')).rows.map((r) => r.d),
  );
  for (const db of databases.filter((d) => connectable.includes(d))) {
    const rows = await withPg(
      'source',
      cfg.source,
      { database: db },
      async (c) => (await c.query<{ n: string }>(`SELECT pubname AS n FROM pg_publication WHERE pubname LIKE $1 || '%'`, [prefix])).rows,
    );
    for (const r of rows) if (own.has(r.n)) publications.push({ db, name: r.n });
  }
  const { subscriptions, origins } = await withPg('target', cfg.target, {}, async (c) => ({
    subscriptions: (
      await c.query<{ db: string; name: string }>(
        `SELECT d.datname AS db, s.subname AS name FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname LIKE $1 || '%'`,
        [prefix],
      )
    ).rows.filter((r) => own.has(r.name)),
    origins: (
      await c.query<{ n: string }>(
        `SELECT roname AS n FROM pg_replication_origin o WHERE NOT EXISTS (SELECT 1 FROM pg_subscription s WHERE 'pg_' || s.oid = o.roname) AND roname LIKE 'pg\\_%'`,
      )
    ).rows.map((r) => r.n),
  }));
  return { slots, publications, subscriptions, origins };
}

export interface SlotPosition {
  lagBytes: number;
  confirmed: string | null;
  current: string;
  active: boolean;
}

export async function slotPosition(c: PgClient, name: string): Promise<SlotPosition | undefined> {
  const r = await c.query<{ lag: string | null; confirmed: string | null; current: string; active: boolean }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), confirmed_flush_lsn)::text AS lag, confirmed_flush_lsn::text AS confirmed, pg_current_wal_insert_lsn()::text AS current, active
       FROM pg_replication_slots WHERE slot_name = $1`,
    [name],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return { lagBytes: Math.max(0, Number(row.lag ?? 0)), confirmed: row.confirmed, current: row.current, active: row.active };
}

/** Whether the slot's confirmed position has reached `lsn`. */
export async function reached(c: PgClient, name: string, lsn: string): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(
    `SELECT confirmed_flush_lsn >= ${ql(lsn)}::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1`,
    [name],
  );
  return r.rows[0]?.ok === true;
}

/** Sum of rows inserted, updated and deleted in the target database's user tables. */
export async function targetChangeCounters(c: PgClient): Promise<{ ins: number; upd: number; del: number }> {
  const r = await c.query<{ ins: string; upd: string; del: string }>(
    `SELECT coalesce(sum(n_tup_ins), 0)::text AS ins, coalesce(sum(n_tup_upd), 0)::text AS upd, coalesce(sum(n_tup_del), 0)::text AS del FROM pg_stat_user_tables WHERE schemaname <> 'dbferry'`,
  );
  const row = r.rows[0];
  return { ins: Number(row?.ins ?? 0), upd: Number(row?.upd ?? 0), del: Number(row?.del ?? 0) };
}
