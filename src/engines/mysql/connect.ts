/** MySQL / MariaDB connections from a resolved ConnectionConfig (mysql2). */
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { ConnectionConfig } from '../../config/types.js';
import { labelConnection, serverLabel, tagServer, translateConnectError, type ServerRole } from '../server-error.js';

export type MyConnection = mysql.Connection;

export interface MyConnectOptions {
  database?: string;
  multipleStatements?: boolean;
}

function sslOptions(conn: ConnectionConfig): mysql.SslOptions | undefined {
  const read = (p: string | undefined): string | undefined => (p ? readFileSync(p, 'utf8') : undefined);
  const ca = read(conn.sslrootcert);
  const cert = read(conn.sslcert);
  const key = read(conn.sslkey);
  const base: mysql.SslOptions = {};
  if (cert) base.cert = cert;
  if (key) base.key = key;
  switch (conn.ssl) {
    case 'disable':
      return undefined;
    case 'allow':
    case 'prefer':
    case 'require':
      return { ...base, ...(ca ? { ca } : {}), rejectUnauthorized: conn.ssl === 'require' && ca !== undefined };
    case 'verify-ca':
    case 'verify-full':
      // Through an SSH tunnel the socket goes to 127.0.0.1; the certificate must name the server.
      return { ...base, ...(ca ? { ca } : {}), rejectUnauthorized: true, ...(conn.tunnel ? { servername: conn.host } : {}) };
  }
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
  const attempt = async (ssl: mysql.SslOptions | undefined): Promise<MyConnection> => {
    const c = await mysql.createConnection({
      host: conn.tunnel?.host ?? conn.host,
      port: conn.tunnel?.port ?? conn.port,
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
    const ssl = sslOptions(conn);
    try {
      return await attempt(ssl);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if ((conn.ssl === 'prefer' || conn.ssl === 'allow') && ssl && code === 'HANDSHAKE_NO_SSL_SUPPORT') return await attempt(undefined);
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
