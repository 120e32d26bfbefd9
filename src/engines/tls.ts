/**
 * What an SSL mode asks of a connection, in libpq's words, once for both engines: each driver
 * (pg, mysql2) maps this policy to its own options.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionConfig } from '../config/types.js';

export interface TlsPolicy {
  /** off: plain; try: TLS, plain when the server has none (allow, prefer); on: TLS or fail. */
  use: 'off' | 'try' | 'on';
  /** The certificate must chain to `ca` (or the system's CAs). */
  verifyChain: boolean;
  /** The certificate must name `serverName` (verify-full). */
  verifyHost: boolean;
  /** The server's own name: conn.host, also when the socket goes through an SSH tunnel. */
  serverName: string;
  /** The files' contents, only those given (the form both drivers take). */
  files: { ca?: string; cert?: string; key?: string };
}

const read = (path: string | undefined): string | undefined => (path ? readFileSync(path, 'utf8') : undefined);

export function tlsPolicy(conn: ConnectionConfig): TlsPolicy {
  const files = { ca: read(conn.sslrootcert), cert: read(conn.sslcert), key: read(conn.sslkey) };
  const given = Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) as TlsPolicy['files'];
  const policy = (use: TlsPolicy['use'], verifyChain: boolean, verifyHost: boolean): TlsPolicy => ({
    use,
    verifyChain,
    verifyHost,
    serverName: conn.host,
    files: given,
  });
  switch (conn.ssl) {
    case 'disable':
      return policy('off', false, false);
    case 'allow':
    case 'prefer':
      return policy('try', false, false);
    case 'require':
      // libpq: require with a root certificate behaves as verify-ca.
      return policy('on', given.ca !== undefined, false);
    case 'verify-ca':
      return policy('on', true, false);
    case 'verify-full':
      return policy('on', true, true);
  }
}
