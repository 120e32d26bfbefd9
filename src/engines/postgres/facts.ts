/**
 * Everything the PostgreSQL pre-migration check needs to know, gathered read-only with a bounded
 * number of queries: a few per server, one per database. A server that cannot be reached is
 * recorded as such (the check reports it), never thrown.
 */
import { LOCK_SETTINGS } from './lock-table.js';
import type { MigrationConfig } from '../../config/types.js';
import type { Discovery } from '../engine.js';
import { failureOf, readSide, type ConnectFailure } from '../checks.js';
import { connectPg, withPg, type PgClient } from './connect.js';
import { discoverPostgres } from './discover.js';
import { findTool, type FoundTool } from './tools.js';

export interface ServerSide {
  connected: true;
  ssl: boolean;
  versionNum: number;
  version: string;
  identity: string;
  user: {
    name: string;
    superuser: boolean;
    replication: boolean;
    createdb: boolean;
    createrole: boolean;
    bypassrls: boolean;
    createSubscription: boolean;
  };
  settings: Record<string, string>;
  slotsUsed: number;
  walSendersUsed: number;
  enabledSubscriptions: number;
  dbferrySlots: string[];
  dbferrySubscriptions: { name: string; database: string }[];
  longTransactions: { pid: number; database: string | null; seconds: number; state: string | null }[];
  preparedTransactions: number;
  collations: string[];
  extensions: { name: string; versions: string[]; trusted: boolean; superuser: boolean }[];
  /** Source roles (not superuser, not pg_*) with the attributes that need privileges. */
  roles: { name: string; replication: boolean; bypassrls: boolean }[];
  /** The connection database, and whether the user may keep dbferry's state there (schema dbferry). */
  stateStore: { database: string; usable: boolean };
}

export type Side = ServerSide | { connected: false; failure: ConnectFailure };

export interface SourceDbFacts {
  name: string;
  extensions: { name: string; version: string }[];
  noKey: string[];
  unlogged: string[];
  largeObjects: number;
  /** Tables and sequences the source user may not read (no USAGE on the schema or no SELECT). */
  unreadable: string[];
  dbferryPublications: string[];
  generatedColumns: number;
}

export interface PgFacts {
  source: Side;
  target: Side;
  discovery: Discovery | null;
  discoveryFailure: ConnectFailure | null;
  databases: SourceDbFacts[];
  pgDump: { best: FoundTool | undefined; found: FoundTool[] };
}

const SETTINGS = [
  ...new Set([
    'wal_level',
    'max_replication_slots',
    'max_wal_senders',
    'max_worker_processes',
    'max_logical_replication_workers',
    'server_encoding',
    // What pg.db.lock_table sizes the lock table from.
    ...LOCK_SETTINGS,
  ]),
];

async function one<T>(c: PgClient, sql: string): Promise<T> {
  return (await c.query(sql)).rows[0] as T;
}

/**
 * One server's facts, one reader per kind, in a fixed order over the one connection (a dozen
 * round trips). Each reader takes the server version where its query depends on it.
 */
async function side(c: PgClient): Promise<ServerSide> {
  const server = await readServer(c);
  const num = server.versionNum;
  const user = await readUser(c, num);
  const settings = await readSettings(c);
  const counts = await readCounts(c, num);
  const dbferrySlots = await readDbferrySlots(c);
  const dbferrySubscriptions = await readDbferrySubscriptions(c, num);
  const longTransactions = await readLongTransactions(c);
  const collations = await readCollations(c);
  const extensions = await readExtensions(c, num);
  const roles = await readRoles(c);
  const stateStore = await readStateStore(c);
  return {
    connected: true,
    ...server,
    user,
    settings,
    slotsUsed: counts.slotsUsed,
    walSendersUsed: counts.walSendersUsed,
    enabledSubscriptions: counts.enabledSubscriptions,
    dbferrySlots,
    dbferrySubscriptions,
    longTransactions,
    stateStore,
    preparedTransactions: counts.preparedTransactions,
    collations,
    extensions,
    roles,
  };
}

/** Version, SSL, and an identity that tells two servers apart (the system identifier where the user may read it). */
async function readServer(c: PgClient): Promise<Pick<ServerSide, 'ssl' | 'versionNum' | 'version' | 'identity'>> {
  const base = await one<{ v: string; n: string; ssl: boolean | null; start: string; port: string }>(
    c,
    `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n,
            (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl,
            pg_postmaster_start_time()::text AS start, current_setting('port') AS port`,
  );
  let identity = `${base.start}/${base.port}`;
  try {
    const r = await one<{ id: string }>(c, 'SELECT system_identifier::text AS id FROM pg_control_system()');
    identity = r.id;
  } catch {
    /* not allowed for this user: fall back to start time and port */
  }
  return { ssl: base.ssl === true, versionNum: Number(base.n), version: base.v, identity };
}

/** The connected user's role attributes (pg_create_subscription exists from PostgreSQL 16). */
async function readUser(c: PgClient, num: number): Promise<ServerSide['user']> {
  const user = await one<{
    name: string;
    superuser: boolean;
    replication: boolean;
    createdb: boolean;
    createrole: boolean;
    bypassrls: boolean;
    cs: boolean;
  }>(
    c,
    `SELECT rolname AS name, rolsuper AS superuser, rolreplication AS replication, rolcreatedb AS createdb,
            rolcreaterole AS createrole, rolbypassrls AS bypassrls,
            ${num >= 160000 ? "pg_has_role(current_user, 'pg_create_subscription', 'MEMBER')" : 'false'} AS cs
       FROM pg_roles WHERE rolname = current_user`,
  );
  return {
    name: user.name,
    superuser: user.superuser,
    replication: user.replication,
    createdb: user.createdb,
    createrole: user.createrole,
    bypassrls: user.bypassrls,
    createSubscription: user.cs,
  };
}

async function readSettings(c: PgClient): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await c.query<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings WHERE name = ANY($1)`, [SETTINGS])).rows.map(
      (r) => [r.name, r.setting],
    ),
  );
}

/** Replication slots and WAL senders in use, enabled subscriptions (PostgreSQL 10+), prepared transactions. */
async function readCounts(
  c: PgClient,
  num: number,
): Promise<Pick<ServerSide, 'slotsUsed' | 'walSendersUsed' | 'enabledSubscriptions' | 'preparedTransactions'>> {
  const counts = await one<{ slots: string; senders: string; subs: string; prepared: string }>(
    c,
    `SELECT (SELECT count(*) FROM pg_replication_slots) AS slots, (SELECT count(*) FROM pg_stat_replication) AS senders,
            ${num >= 100000 ? '(SELECT count(*) FROM pg_subscription WHERE subenabled)' : '0'} AS subs,
            (SELECT count(*) FROM pg_prepared_xacts) AS prepared`,
  );
  return {
    slotsUsed: Number(counts.slots),
    walSendersUsed: Number(counts.senders),
    enabledSubscriptions: Number(counts.subs),
    preparedTransactions: Number(counts.prepared),
  };
}

async function readDbferrySlots(c: PgClient): Promise<string[]> {
  return (
    await c.query<{ slot_name: string }>(`SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'dbferry\\_%' ORDER BY 1`)
  ).rows.map((r) => r.slot_name);
}

/** dbferry subscriptions and their databases; none before PostgreSQL 10 (no query then). */
async function readDbferrySubscriptions(c: PgClient, num: number): Promise<ServerSide['dbferrySubscriptions']> {
  return num >= 100000
    ? (
        await c.query<{ name: string; database: string }>(
          `SELECT s.subname AS name, d.datname AS database FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE s.subname LIKE 'dbferry\\_%' ORDER BY 1`,
        )
      ).rows
    : [];
}

/** Transactions open longer than 5 minutes, other than this session. */
async function readLongTransactions(c: PgClient): Promise<ServerSide['longTransactions']> {
  return (
    await c.query<{ pid: number; database: string | null; seconds: number; state: string | null }>(
      `SELECT pid, datname AS database, extract(epoch FROM now() - xact_start)::int AS seconds, state FROM pg_stat_activity
        WHERE xact_start IS NOT NULL AND now() - xact_start > interval '5 minutes' AND pid <> pg_backend_pid() ORDER BY xact_start`,
    )
  ).rows;
}

async function readCollations(c: PgClient): Promise<string[]> {
  return (
    await c.query<{ c: string }>(
      `SELECT DISTINCT collcollate AS c FROM pg_collation WHERE collcollate IS NOT NULL UNION SELECT 'C' UNION SELECT 'POSIX'`,
    )
  ).rows.map((r) => r.c);
}

/** Available extensions with their versions, and whether a non-superuser may create them (trusted: PostgreSQL 13+). */
async function readExtensions(c: PgClient, num: number): Promise<ServerSide['extensions']> {
  return (
    await c.query<{ name: string; versions: string[]; trusted: boolean; superuser: boolean }>(
      `SELECT name, array_agg(version ORDER BY version) AS versions, bool_or(${num >= 130000 ? 'trusted' : 'false'}) AS trusted, bool_and(superuser) AS superuser
         FROM pg_available_extension_versions GROUP BY name ORDER BY name`,
    )
  ).rows;
}

async function readRoles(c: PgClient): Promise<ServerSide['roles']> {
  return (
    await c.query<{ name: string; replication: boolean; bypassrls: boolean }>(
      `SELECT rolname AS name, rolreplication AS replication, rolbypassrls AS bypassrls FROM pg_roles
        WHERE rolname !~ '^pg_' AND NOT rolsuper AND rolname <> current_user ORDER BY rolname`,
    )
  ).rows;
}

/** Whether the user may keep dbferry's state (schema dbferry) in the connection database. */
async function readStateStore(c: PgClient): Promise<ServerSide['stateStore']> {
  const store = await one<{ db: string; usable: boolean }>(
    c,
    `SELECT current_database() AS db,
            CASE WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'dbferry') THEN has_schema_privilege('dbferry', 'CREATE') AND has_schema_privilege('dbferry', 'USAGE')
                 ELSE has_database_privilege(current_database(), 'CREATE') END AS usable`,
  );
  return { database: store.db, usable: store.usable };
}

const USER_REL = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** One query per database. */
export async function sourceDbFacts(c: PgClient, name: string, versionNum: number): Promise<SourceDbFacts> {
  const r = await one<{
    extensions: { name: string; version: string }[];
    no_key: string[];
    unlogged: string[];
    lo: string;
    pubs: string[];
    generated: string;
    unreadable: string[];
  }>(
    c,
    `SELECT
       (SELECT coalesce(json_agg(json_build_object('name', extname, 'version', extversion) ORDER BY extname), '[]') FROM pg_extension WHERE extname <> 'plpgsql') AS extensions,
       (SELECT coalesce(json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname), '[]')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND ${USER_REL}
           AND (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))) AS no_key,
       (SELECT coalesce(json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname), '[]')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'u' AND ${USER_REL}) AS unlogged,
       (SELECT count(*) FROM pg_largeobject_metadata) AS lo,
       (SELECT coalesce(json_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname), '[]')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'S', 'm') AND ${USER_REL} AND NOT (has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT'))) AS unreadable,
       (SELECT coalesce(json_agg(pubname ORDER BY pubname), '[]') FROM pg_publication WHERE pubname LIKE 'dbferry\\_%') AS pubs,
       (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE a.attnum > 0 AND NOT a.attisdropped AND ${versionNum >= 120000 ? "a.attgenerated <> ''" : 'false'} AND ${USER_REL}) AS generated`,
  );
  return {
    name,
    extensions: r.extensions,
    noKey: r.no_key,
    unlogged: r.unlogged,
    largeObjects: Number(r.lo),
    unreadable: r.unreadable,
    dbferryPublications: r.pubs,
    generatedColumns: Number(r.generated),
  };
}

function tolerant(role: 'source' | 'target', cfg: MigrationConfig): Promise<Side> {
  return readSide(() => connectPg(role, cfg[role], { readOnly: true }), side);
}

export async function gatherPgFacts(
  cfg: MigrationConfig,
  env: Readonly<Record<string, string | undefined>>,
  pgbin?: string,
  signal?: AbortSignal,
): Promise<PgFacts> {
  const [source, target] = await Promise.all([tolerant('source', cfg), tolerant('target', cfg)]);
  const minMajor = source.connected ? Math.floor(source.versionNum / 10000) : 0;
  const pgDump = findTool('pg_dump', minMajor, env, pgbin);
  let discovery: Discovery | null = null;
  let discoveryFailure: ConnectFailure | null = null;
  const databases: SourceDbFacts[] = [];
  if (source.connected && target.connected) {
    try {
      const found = await discoverPostgres(cfg, signal);
      discovery = found;
      // The databases' own facts, a few at a time.
      const names = found.databases.map((d) => d.source.name);
      for (let i = 0; i < names.length; i += 4) {
        signal?.throwIfAborted();
        const some = names
          .slice(i, i + 4)
          .map((name) =>
            withPg('source', cfg.source, { readOnly: true, database: name }, (c) => sourceDbFacts(c, name, found.source.versionNum)),
          );
        databases.push(...(await Promise.all(some)));
      }
    } catch (e) {
      if (signal?.aborted) throw e;
      discoveryFailure = failureOf(e);
    }
  }
  return { source, target, discovery, discoveryFailure, databases, pgDump: await pgDump };
}
