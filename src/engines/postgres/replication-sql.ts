/** Names and SQL for PostgreSQL logical replication objects. Pure. */
import { createHash } from 'node:crypto';
import type { ConnectionConfig } from '../../config/types.js';
import { qi, ql } from './sql.js';

/**
 * `dbferry_<migration>_<db>`: lower case letters, digits and underscores (slot name rules), at most
 * 63 bytes; a hash of the exact names is appended whenever the readable part lost information.
 */
export function replicationObjectName(migration: string, db: string): string {
  const slug = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '');
  const readable = `dbferry_${slug(migration)}_${slug(db)}`;
  const exact = readable === `dbferry_${migration}_${db}` && readable.length <= 63;
  if (exact) return readable;
  const hash = createHash('sha256').update(`${migration}\u0000${db}`).digest('hex').slice(0, 8);
  return `${readable.slice(0, 63 - 9).replace(/_+$/, '')}_${hash}`;
}

/**
 * The names this migration's objects can have: the slot, publication and subscription of each
 * database, and the publication of its key-less tables. Matched exactly: a prefix would also take
 * another migration's objects (`app` and `app-2` share `dbferry_app_`).
 */
export function ownObjectNames(migration: string, databases: readonly string[]): Set<string> {
  const names = databases.map((db) => replicationObjectName(migration, db));
  return new Set([...names, ...names.map(keylessPublicationName)]);
}

/** The prefix every object of a migration starts with, for plans and for narrowing a search (never to decide ownership). */
export function replicationPrefix(migration: string): string {
  return `dbferry_${migration
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')}_`;
}

/** libpq keyword/value conninfo for the subscription (the target connects to the source with it). */
export function subscriptionConninfo(c: ConnectionConfig, db: string): string {
  const kv = (k: string, v: string) => `${k}=${/[\s'\\]/.test(v) || v === '' ? `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : v}`;
  const parts = [
    kv('host', c.host),
    kv('port', String(c.port)),
    kv('user', c.user),
    kv('dbname', db),
    kv('sslmode', c.ssl),
    kv('application_name', 'dbferry_subscription'),
  ];
  if (c.password !== undefined) parts.push(kv('password', c.password));
  if (c.sslrootcert) parts.push(kv('sslrootcert', c.sslrootcert));
  return parts.join(' ');
}

/**
 * The publication of the tables without a key: `<name>_k`, kept within 63 bytes (a hash of the
 * full name replaces the end when it would not fit). It publishes inserts and truncates only,
 * so UPDATE and DELETE on those tables keep working on the source.
 */
export function keylessPublicationName(name: string): string {
  if (name.length <= 61) return `${name}_k`;
  return `${name.slice(0, 52).replace(/_+$/, '')}_k_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

export function createPublicationSql(name: string, tables: { schema: string; name: string }[], insertsOnly = false): string {
  const list = tables.length ? ` FOR TABLE ${tables.map((t) => `${qi(t.schema)}.${qi(t.name)}`).join(', ')}` : '';
  return `CREATE PUBLICATION ${qi(name)}${list}${insertsOnly ? ` WITH (publish = 'insert, truncate')` : ''}`;
}

export function createSlotCommand(name: string): string {
  // The pre-15 syntax, accepted by every version from 10 on.
  return `CREATE_REPLICATION_SLOT ${qi(name)} LOGICAL pgoutput EXPORT_SNAPSHOT`;
}

/** One subscription for both publications of a database, from the slot created with the copy's snapshot. */
export function createSubscriptionSql(name: string, conninfo: string): string {
  return `CREATE SUBSCRIPTION ${qi(name)} CONNECTION ${ql(conninfo)} PUBLICATION ${qi(name)}, ${qi(keylessPublicationName(name))} WITH (create_slot = false, slot_name = ${ql(name)}, copy_data = false, enabled = true)`;
}

/** Detaching the slot first lets DROP SUBSCRIPTION succeed whether the source is reachable or not. */
export function dropSubscriptionSql(name: string): string[] {
  return [
    `ALTER SUBSCRIPTION ${qi(name)} DISABLE`,
    `ALTER SUBSCRIPTION ${qi(name)} SET (slot_name = NONE)`,
    `DROP SUBSCRIPTION ${qi(name)}`,
  ];
}
