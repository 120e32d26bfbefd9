/**
 * Resolving a connection the way libpq (PostgreSQL) or the mysql client would: explicit keys,
 * then the URI, then the environment, then ~/.pgpass, then defaults. Pure: the environment and
 * the .pgpass text are passed in.
 */
import type { ConnectionConfig, Engine, PasswordSource, SshConfig, SslMode } from './types.js';
import { SSL_MODES } from './types.js';

export interface RawConnection {
  uri?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  dbname?: string;
  ssl?: string;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  ssh?: RawSsh;
}

export interface RawSsh {
  host?: string;
  port?: number;
  user?: string;
  privateKeyFile?: string;
  privateKey?: string;
  passphrase?: string;
  agent?: boolean;
  knownHosts?: string;
}

export interface ConnectionIssue {
  /** Key inside the connection block the issue is about. */
  key: keyof RawConnection;
  severity: 'error' | 'warning';
  message: string;
}

/** What a URI provides: the connection keys, and the engine its scheme names. */
export type UriParts = Omit<RawConnection, 'uri'> & { engine: Engine | undefined };

const MYSQL_SSL: Record<string, SslMode> = {
  disabled: 'disable',
  preferred: 'prefer',
  required: 'require',
  verify_ca: 'verify-ca',
  verify_identity: 'verify-full',
};

export function engineOfScheme(scheme: string): Engine | undefined {
  const s = scheme.replace(/:$/, '').toLowerCase();
  if (s === 'postgres' || s === 'postgresql') return 'postgresql';
  if (s === 'mysql' || s === 'mariadb' || s === 'mysqlx') return 'mysql';
  return undefined;
}

export function parseUri(uri: string): { ok: true; value: UriParts } | { ok: false; error: string } {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (!m) return { ok: false, error: 'is not a URI; expected postgres://user@host:port/db or mysql://user@host:port' };
  const engine = engineOfScheme(m[1] as string);
  if (!engine) return { ok: false, error: `has scheme "${m[1]}"; expected postgres://, postgresql://, mysql:// or mariadb://` };
  let url: URL;
  try {
    url = new URL(uri.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:/, 'http:'));
  } catch {
    return { ok: false, error: 'is not a valid URI (check the host, port and any special characters, which must be percent-encoded)' };
  }
  if (url.hostname.includes(',')) return { ok: false, error: 'lists several hosts; dbferry connects to exactly one server' };
  const out: UriParts = { engine };
  const dec = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  if (url.hostname) out.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port) out.port = Number(url.port);
  if (url.username) out.username = dec(url.username);
  if (url.password) out.password = dec(url.password);
  const path = url.pathname.replace(/^\//, '');
  if (path) out.dbname = dec(path);
  for (const [k, v] of url.searchParams) {
    const key = k.toLowerCase();
    if (key === 'sslmode') out.ssl = v;
    else if (key === 'ssl-mode' || key === 'ssl_mode') out.ssl = MYSQL_SSL[v.toLowerCase()] ?? v;
    else if (key === 'ssl') out.ssl = v === 'true' || v === '1' ? 'require' : v === 'false' || v === '0' ? 'disable' : v;
    else if (key === 'sslrootcert' || key === 'ssl-ca') out.sslrootcert = v;
    else if (key === 'sslcert' || key === 'ssl-cert') out.sslcert = v;
    else if (key === 'sslkey' || key === 'ssl-key') out.sslkey = v;
    else if (key === 'host') out.host = v;
    else if (key === 'port') out.port = Number(v);
    else if (key === 'user') out.username = v;
    else if (key === 'password') out.password = v;
    else if (key === 'dbname') out.dbname = v;
  }
  return { ok: true, value: out };
}

/** One line of a .pgpass file: host:port:db:user:password with * wildcards and \: escapes. */
export function pgpassLookup(pgpassText: string, host: string, port: number, db: string, user: string): string | undefined {
  for (const raw of pgpassText.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const fields: string[] = [];
    let cur = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c === '\\' && i + 1 < raw.length) {
        cur += raw[i + 1];
        i++;
      } else if (c === ':' && fields.length < 4) {
        fields.push(cur);
        cur = '';
      } else {
        cur += c;
      }
    }
    fields.push(cur);
    if (fields.length < 5) continue;
    const [h, p, d, u, pw] = fields as [string, string, string, string, string];
    const hostMatch = h === '*' || h === host || (h === 'localhost' && (host === '127.0.0.1' || host.startsWith('/')));
    if (hostMatch && (p === '*' || p === String(port)) && (d === '*' || d === db) && (u === '*' || u === user)) return pw;
  }
  return undefined;
}

export interface ResolveInput {
  raw: RawConnection;
  engine: Engine;
  env: Readonly<Record<string, string | undefined>>;
  pgpassText: string | undefined;
}

export function resolveConnection({ raw, engine, env, pgpassText }: ResolveInput): { conn: ConnectionConfig; issues: ConnectionIssue[] } {
  const issues: ConnectionIssue[] = [];
  let uri: UriParts = { engine: undefined };
  if (raw.uri !== undefined && raw.uri !== '') {
    const parsed = parseUri(raw.uri);
    if (parsed.ok) uri = parsed.value;
    else issues.push({ key: 'uri', severity: 'error', message: `uri ${parsed.error}` });
    for (const k of ['host', 'port', 'username', 'dbname'] as const) {
      if (raw[k] !== undefined && uri[k] !== undefined && String(raw[k]) !== String(uri[k])) {
        issues.push({
          key: k,
          severity: 'error',
          message: `${k} contradicts the ${k === 'username' ? 'user' : k} in uri; give it in one place`,
        });
      }
    }
    if (uri.password !== undefined)
      issues.push({
        key: 'uri',
        severity: 'warning',
        message: 'uri contains a password; move it to `password: ${VAR}` or the environment',
      });
  }
  const pg = engine === 'postgresql';
  const e = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const host = raw.host ?? uri.host ?? (pg ? e('PGHOST') : e('MYSQL_HOST')) ?? 'localhost';
  const portRaw = raw.port ?? uri.port ?? (pg ? e('PGPORT') : e('MYSQL_TCP_PORT'));
  let port = portRaw === undefined ? (pg ? 5432 : 3306) : Number(portRaw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    issues.push({ key: 'port', severity: 'error', message: `port must be 1-65535, got ${String(portRaw)}` });
    port = pg ? 5432 : 3306;
  }
  const user = raw.username ?? uri.username ?? (pg ? e('PGUSER') : undefined) ?? e('USER') ?? (pg ? 'postgres' : 'root');
  const dbname = pg ? (raw.dbname ?? uri.dbname ?? e('PGDATABASE') ?? 'postgres') : (raw.dbname ?? uri.dbname);
  let sslWord = raw.ssl ?? uri.ssl ?? (pg ? e('PGSSLMODE') : undefined) ?? 'prefer';
  if (!(SSL_MODES as readonly string[]).includes(sslWord)) {
    issues.push({
      key: raw.ssl !== undefined ? 'ssl' : 'uri',
      severity: 'error',
      message: `ssl mode "${sslWord}" is not one of ${SSL_MODES.join(' | ')}`,
    });
    sslWord = 'prefer';
  }
  const ssl = sslWord as SslMode;
  const sslrootcert = raw.sslrootcert ?? uri.sslrootcert ?? (pg ? e('PGSSLROOTCERT') : undefined);
  const sslcert = raw.sslcert ?? uri.sslcert ?? (pg ? e('PGSSLCERT') : undefined);
  const sslkey = raw.sslkey ?? uri.sslkey ?? (pg ? e('PGSSLKEY') : undefined);
  let password: string | undefined;
  let passwordSource: PasswordSource = 'none';
  if (raw.password !== undefined && raw.password !== '') {
    password = raw.password;
    passwordSource = 'yaml';
  } else if (uri.password !== undefined) {
    password = uri.password;
    passwordSource = 'uri';
  } else if (pg ? e('PGPASSWORD') : e('MYSQL_PWD')) {
    password = pg ? e('PGPASSWORD') : e('MYSQL_PWD');
    passwordSource = 'env';
  } else if (pg && pgpassText !== undefined) {
    const found = pgpassLookup(pgpassText, host, port, dbname ?? 'postgres', user);
    if (found !== undefined) {
      password = found;
      passwordSource = 'pgpass';
    }
  }
  return {
    conn: { host, port, user, password, passwordSource, dbname, ssl, sslrootcert, sslcert, sslkey, ssh: resolveSsh(raw.ssh, env) },
    issues,
  };
}

/** The SSH block with its defaults; paths stay as written (the loader resolves them against the YAML file). */
function resolveSsh(raw: RawSsh | undefined, env: Readonly<Record<string, string | undefined>>): SshConfig | undefined {
  if (!raw?.host) return undefined;
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  return {
    host: raw.host,
    port: raw.port ?? 22,
    user: nonEmpty(raw.user) ?? env.USER ?? 'root',
    privateKeyFile: nonEmpty(raw.privateKeyFile),
    privateKey: nonEmpty(raw.privateKey),
    passphrase: nonEmpty(raw.passphrase),
    agent: raw.agent ?? false,
    knownHosts: nonEmpty(raw.knownHosts) ?? '~/.ssh/known_hosts',
  };
}

/** `user@host:port`, never with a password: what every message shows of a server. */
export function describeServer(c: Pick<ConnectionConfig, 'user' | 'host' | 'port'>): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `${c.user}@${host}:${c.port}`;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0']);

/** Whether two connections name the same server (loopback spellings count as one host). */
export function sameServer(a: ConnectionConfig, b: ConnectionConfig): boolean {
  const norm = (h: string): string => (LOOPBACK.has(h.toLowerCase()) || h.startsWith('/') ? 'loopback' : h.toLowerCase());
  // Behind SSH, a host name is resolved on the bastion: the same words name the same server only
  // through the same bastion (the check still compares system identifiers).
  const via = (c: ConnectionConfig): string => (c.ssh ? `${c.ssh.host.toLowerCase()}:${c.ssh.port}` : '');
  return a.port === b.port && norm(a.host) === norm(b.host) && via(a) === via(b);
}
