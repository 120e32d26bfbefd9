/** MySQL / MariaDB connections from a resolved ConnectionConfig (mysql2). */
import { connect as netConnect, type Socket } from 'node:net';
import mysql from 'mysql2/promise';
import type { ConnectionConfig } from '../../config/types.js';
import { tlsPolicy, type TlsPolicy } from '../tls.js';
import { labelConnection, serverLabel, tagServer, translateConnectError, type ServerRole } from '../server-error.js';

export type MyConnection = mysql.Connection;

export interface MyConnectOptions {
  database?: string;
  multipleStatements?: boolean;
}

/** The SSL options of mysql2 for the connection's policy (undefined: plain). */
function sslOptions(p: TlsPolicy): mysql.SslOptions | undefined {
  if (p.use === 'off') return undefined;
  return {
    ...p.files,
    rejectUnauthorized: p.verifyChain,
    verifyIdentity: p.verifyHost,
  };
}

/**
 * Where mysql2 connects. `host` stays the server's own name, also through a tunnel, and the
 * socket is ours when the certificate's name matters: mysql2 checks a host *name* itself, but for
 * an IP address (or through a tunnel) Node's check falls back to the socket's `_host`, so that is
 * set to the server's own address (without it, any certificate naming localhost passed).
 */
function endpoint(conn: ConnectionConfig, policy: TlsPolicy): { host: string; port: number; stream?: () => Socket } {
  const via = conn.tunnel ?? { host: conn.host, port: conn.port };
  if (!conn.tunnel && !policy.verifyHost) return { host: conn.host, port: conn.port };
  const stream = (): Socket => {
    const socket = netConnect(via.port, via.host);
    (socket as Socket & { _host?: string })._host = policy.serverName;
    return socket;
  };
  return { host: conn.host, port: conn.port, stream };
}

/** Every error of this connection's queries carries the server it came from. */
function labelQueries(c: MyConnection, label: string): void {
  labelConnection(c, label);
  for (const m of ['query', 'execute'] as const) {
    const f = (c[m] as (...args: unknown[]) => Promise<unknown>).bind(c);
    (c as unknown as Record<string, unknown>)[m] = (...args: unknown[]) =>
      f(...args).catch((e: unknown) => Promise.reject(tagServer(e, label)));
  }
}

export async function connectMysql(role: ServerRole, conn: ConnectionConfig, opts: MyConnectOptions = {}): Promise<MyConnection> {
  const policy = tlsPolicy(conn);
  const attempt = async (ssl: mysql.SslOptions | undefined): Promise<MyConnection> => {
    const c = await mysql.createConnection({
      ...endpoint(conn, policy),
      user: conn.user,
      ...(conn.password !== undefined ? { password: conn.password } : {}),
      ...(opts.database ? { database: opts.database } : {}),
      ...(ssl ? { ssl } : {}),
      connectTimeout: 15000,
      multipleStatements: opts.multipleStatements ?? false,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      charset: 'utf8mb4_general_ci',
    });
    // A dropped connection must not crash the process; the next query reports it.
    c.on('error', () => undefined);
    labelQueries(c, serverLabel(role, conn, opts.database));
    return c;
  };
  try {
    const ssl = sslOptions(policy);
    try {
      return await attempt(ssl);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (ssl && policy.use === 'try' && code === 'HANDSHAKE_NO_SSL_SUPPORT') return await attempt(undefined);
      throw e;
    }
  } catch (e) {
    throw translateConnectError(e, role, conn, opts.database);
  }
}

export async function withMysql<T>(
  role: ServerRole,
  conn: ConnectionConfig,
  opts: MyConnectOptions,
  fn: (c: MyConnection) => Promise<T>,
): Promise<T> {
  const c = await connectMysql(role, conn, opts);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Rows of a query as plain records. */
export async function rows<T = Record<string, unknown>>(c: MyConnection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await c.query(sql, params);
  return r as T[];
}
