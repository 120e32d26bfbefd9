/** PostgreSQL connections built from a resolved ConnectionConfig, with libpq SSL semantics. */
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import type { ConnectionConfig } from '../../config/types.js';
import { tlsPolicy, type TlsPolicy } from '../tls.js';
import { serverLabel, tagServer, translateConnectError, type ServerRole } from '../server-error.js';

export type PgClient = pg.Client;

export interface PgConnectOptions {
  database?: string;
  readOnly?: boolean;
  replication?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string>;
  applicationName?: string;
}

/** The SSL options of node-postgres for the connection's policy (false: plain). */
function sslOptions(p: TlsPolicy): false | ConnectionOptions {
  if (p.use === 'off') return false;
  return {
    ...p.files,
    rejectUnauthorized: p.verifyChain,
    // Checked against the server's own name, also through a tunnel (the socket goes to 127.0.0.1).
    checkServerIdentity: p.verifyHost ? (_host, cert) => checkServerIdentity(p.serverName, cert) : () => undefined,
    ...(isIP(p.serverName) ? {} : { servername: p.serverName }),
  };
}

export function pgClientConfig(conn: ConnectionConfig, opts: PgConnectOptions, ssl: false | ConnectionOptions): pg.ClientConfig {
  const settings: Record<string, string> = { ...opts.settings };
  if (opts.readOnly) settings.default_transaction_read_only = 'on';
  const options = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v}`)
    .join(' ');
  const cfg: pg.ClientConfig = {
    host: conn.tunnel?.host ?? conn.host,
    port: conn.tunnel?.port ?? conn.port,
    user: conn.user,
    database: opts.database ?? conn.dbname ?? 'postgres',
    ssl,
    connectionTimeoutMillis: 15000,
    application_name: opts.applicationName ?? 'dbferry',
    ...(options ? { options } : {}),
  };
  if (conn.password !== undefined) cfg.password = conn.password;
  if (opts.replication) (cfg as pg.ClientConfig & { replication: string }).replication = 'database';
  return cfg;
}

/**
 * Every error of this client's queries (promises and COPY streams) carries the server it came
 * from, so a failure deep in a migration still says which server failed.
 */
function labelQueries(client: pg.Client, label: string): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const r = query(...args);
    if (r instanceof Promise) return r.catch((e: unknown) => Promise.reject(tagServer(e, label)));
    if (r !== null && typeof r === 'object' && typeof (r as { on?: unknown }).on === 'function')
      (r as NodeJS.EventEmitter).on('error', (e: unknown) => tagServer(e, label));
    return r;
  };
}

/** Connects, trying SSL first and falling back to plain for `allow`/`prefer` as libpq does. */
export async function connectPg(role: ServerRole, conn: ConnectionConfig, opts: PgConnectOptions = {}): Promise<PgClient> {
  const attempt = async (ssl: false | ConnectionOptions): Promise<PgClient> => {
    const client = new pg.Client(pgClientConfig(conn, opts, ssl));
    // A dropped connection must not crash the process; the next query reports it.
    client.on('error', () => undefined);
    try {
      await client.connect();
      labelQueries(client, serverLabel(role, conn, opts.database));
      return client;
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
  };
  try {
    const policy = tlsPolicy(conn);
    const ssl = sslOptions(policy);
    try {
      return await attempt(ssl);
    } catch (e) {
      if (ssl && policy.use === 'try' && /does not support SSL/i.test(String((e as Error).message))) {
        return await attempt(false);
      }
      throw e;
    }
  } catch (e) {
    throw translateConnectError(e, role, conn, opts.database);
  }
}

/** Runs fn with a client and always closes it. */
export async function withPg<T>(
  role: ServerRole,
  conn: ConnectionConfig,
  opts: PgConnectOptions,
  fn: (c: PgClient) => Promise<T>,
): Promise<T> {
  const c = await connectPg(role, conn, opts);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}
