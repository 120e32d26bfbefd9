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
      return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: host name not found`, {
        hint: `Check ${role}.host.`,
        cause: e,
      });
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: ${code}`, {
        hint: 'Check the network path and firewall rules to the server.',
        cause: e,
      });
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
      return new DbferryError('DATABASE_NOT_FOUND', `${where}: database "${database ?? conn.dbname ?? '(none)'}" does not exist`, {
        hint: database
          ? `Create it, or remove it from the databases to migrate.`
          : `Set ${role}.dbname to an existing maintenance database (PostgreSQL: postgres).`,
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
  if (
    /certificate|self[- ]signed|SSL|TLS|Hostname\/IP does not match/i.test(raw) ||
    /^(ERR_TLS|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|CERT_)/.test(code)
  ) {
    return new DbferryError('SSL_FAILED', `SSL with ${where} failed: ${raw}`, {
      hint: `Check ${role}.sslrootcert (the CA that signed the server certificate) and ${role}.ssl (verify-full also checks the host name).`,
      cause: e,
    });
  }
  if (/timeout/i.test(raw)) {
    return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: timed out`, {
      hint: 'Check the host, port and firewall.',
      cause: e,
    });
  }
  return new DbferryError('CONNECTION_FAILED', `cannot connect to ${where}: ${raw}`, { cause: e });
}

const labels = new WeakMap<object, string>();
const SERVER = Symbol.for('dbferry.server');

/** Remembers which server a connection talks to ("source server user@host:port (database "x")"). */
export function labelConnection(conn: object, label: string): void {
  labels.set(conn, label);
}

export function labelOf(conn: object): string | undefined {
  return labels.get(conn);
}

/** Marks a driver error, in place, with the server it came from (the first mark wins). Returns it. */
export function tagServer<E>(e: E, label: string | undefined): E {
  if (label && e !== null && typeof e === 'object' && !(SERVER in e)) Object.defineProperty(e, SERVER, { value: label, enumerable: false });
  return e;
}

export function serverOf(e: unknown): string | undefined {
  return e !== null && typeof e === 'object' && SERVER in e ? String((e as Record<symbol, unknown>)[SERVER]) : undefined;
}

/**
 * A driver failure during a migration, as the user should read it: which server, what it said,
 * and that the migration can be resumed. DbferryErrors and interruptions pass through unchanged.
 */
export function migrationError(e: unknown, database: string, resume: string): unknown {
  if (e instanceof DbferryError || (e as { name?: string } | null)?.name === 'AbortError') return e;
  const raw = redact(messageOf(e)).split('\n')[0] ?? '';
  const code = String((e as DriverError | null)?.code ?? '');
  const server = serverOf(e);
  const lost =
    /^(57P0[123]|ECONNRESET|EPIPE|PROTOCOL_CONNECTION_LOST|ER_QUERY_INTERRUPTED|ER_CONNECTION_KILLED|ER_SERVER_SHUTDOWN)$/.test(code) ||
    /terminat|connection (lost|error)|closed the connection|not queryable/i.test(raw);
  const what = lost ? `the connection to the ${server ?? 'server'} was lost (${raw})` : server ? `the ${server} reported: ${raw}` : raw;
  return new DbferryError('MIGRATION_FAILED', `migrating database "${database}" failed: ${what}`, {
    hint: lost
      ? `Nothing is lost: once the server is reachable again, run \`dbferry apply\` again; ${resume}.`
      : `Fix the cause, then run \`dbferry apply\` again; ${resume}.`,
    cause: e,
  });
}
