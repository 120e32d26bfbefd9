/**
 * Turning driver errors (pg, mysql2, sockets, TLS) into one-line DbferryErrors that name the
 * server (user@host:port, role) and never the password. Pure.
 */
import type { ConnectionConfig } from '../config/types.js';
import { describeServer } from '../config/connection.js';
import { DbferryError, messageOf } from '../util/errors.js';
import { redact } from '../util/redact.js';

export type ServerRole = 'source' | 'target';

interface DriverError {
  code?: string;
  errno?: number | string;
  message?: string;
  sqlMessage?: string;
}

export function serverLabel(role: ServerRole, conn: ConnectionConfig, database?: string): string {
  return `${role} server ${describeServer(conn)}${database ? ` (database "${database}")` : ''}`;
}

export function translateConnectError(e: unknown, role: ServerRole, conn: ConnectionConfig, database?: string): DbferryError {
  if (e instanceof DbferryError) return e;
  const err = (e ?? {}) as DriverError;
  const code = String(err.code ?? '');
  const raw = redact(String(err.sqlMessage ?? err.message ?? messageOf(e))).split('\n')[0] ?? '';
  const where = serverLabel(role, conn, database);
  const envName = role === 'source' ? 'SOURCE' : 'TARGET';
  switch (code) {
    case 'ECONNREFUSED':
      return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: connection refused`, {
        hint: `Check ${role}.host and ${role}.port, and that the server is running and accepts TCP connections.`,
        cause: e,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: host name not found`, { hint: `Check ${role}.host.`, cause: e });
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: ${code}`, { hint: 'Check the network path and firewall rules to the server.', cause: e });
    case '28P01':
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
      return new DbferryError('AUTH_FAILED', `authentication failed for ${where}: wrong user or password`, {
        hint: `Check ${role}.username and the password (e.g. \${${envName}_PASSWORD}, PGPASSWORD or ~/.pgpass).`,
        cause: e,
      });
    case '28000':
      return new DbferryError('AUTH_FAILED', `${where} refused the connection: ${raw}`, {
        hint: 'The server does not allow this user from this host (pg_hba.conf / user host), or the SSL mode does not match its rules.',
        cause: e,
      });
    case '3D000':
    case 'ER_BAD_DB_ERROR':
      return new DbferryError('DATABASE_NOT_FOUND', `${where}: database does not exist`, {
        hint: database ? `Create it, or remove it from the databases to migrate.` : `Set ${role}.dbname to an existing maintenance database (PostgreSQL: postgres).`,
        cause: e,
      });
    case 'HANDSHAKE_NO_SSL_SUPPORT':
      return new DbferryError('SSL_FAILED', `${where} does not support SSL, but ${role}.ssl is ${conn.ssl}`, {
        hint: `Enable SSL on the server, or set ${role}.ssl: prefer (or disable).`,
        cause: e,
      });
    default:
      break;
  }
  if (/does not support SSL/i.test(raw)) {
    return new DbferryError('SSL_FAILED', `${where} does not support SSL, but ${role}.ssl is ${conn.ssl}`, {
      hint: `Enable SSL on the server, or set ${role}.ssl: prefer (or disable).`,
      cause: e,
    });
  }
  if (/certificate|self[- ]signed|SSL|TLS|Hostname\/IP does not match/i.test(raw) || /^(ERR_TLS|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|CERT_)/.test(code)) {
    return new DbferryError('SSL_FAILED', `SSL with ${where} failed: ${raw}`, {
      hint: `Check ${role}.sslrootcert (the CA that signed the server certificate) and ${role}.ssl (verify-full also checks the host name).`,
      cause: e,
    });
  }
  if (/timeout/i.test(raw)) {
    return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: timed out`, { hint: 'Check the host, port and firewall.', cause: e });
  }
  return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: ${raw}`, { cause: e });
}
