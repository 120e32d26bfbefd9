/**
 * SSH tunnels (ssh2): a loopback listener per server whose connections are forwarded through the
 * bastion to the database server. Every client dbferry starts (node drivers, pg_dump, psql) connects
 * to the listener, so nothing but the SSH port has to be reachable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { Client, type ConnectConfig } from 'ssh2';
import type { ConnectionConfig, SshConfig } from '../config/types.js';
import { DbferryError, messageOf } from '../util/errors.js';
import { redact } from '../util/redact.js';
import { knownHostsName, verifyHostKey, type HostKeyVerdict } from './known-hosts.js';

export interface OpenTunnel {
  host: string;
  port: number;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

function privateKeyOf(ssh: SshConfig, env: Env): Buffer | string | undefined {
  if (ssh.privateKey) return ssh.privateKey.replace(/\\n/g, '\n');
  if (ssh.privateKeyFile) return readFileSync(ssh.privateKeyFile);
  if (ssh.agent) return undefined;
  const home = env.HOME ?? homedir();
  const found = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)).find((f) => existsSync(f));
  return found === undefined ? undefined : readFileSync(found);
}

function tunnelError(role: string, ssh: SshConfig, what: string, hint: string, cause?: unknown): DbferryError {
  return new DbferryError(
    'CONNECTION_FAILED',
    `cannot open the SSH tunnel to the ${role} server through ${ssh.user}@${ssh.host}:${ssh.port}: ${what}`,
    {
      hint,
      cause,
    },
  );
}

function verdictError(role: string, ssh: SshConfig, verdict: HostKeyVerdict): DbferryError {
  const name = knownHostsName(ssh.host, ssh.port);
  if (verdict === 'unknown')
    return tunnelError(
      role,
      ssh,
      `its host key is not in ${ssh.knownHosts}`,
      `Add it after checking its fingerprint, e.g. \`ssh-keyscan -p ${ssh.port} ${ssh.host} >> ${ssh.knownHosts}\`, or set ${role}.ssh.knownHosts.`,
    );
  return tunnelError(
    role,
    ssh,
    verdict === 'revoked'
      ? 'its host key is marked @revoked'
      : `its host key differs from the one recorded for ${name} in ${ssh.knownHosts}`,
    'Someone may be intercepting the connection, or the host was reinstalled; confirm the new key out of band before replacing the entry.',
  );
}

/** Connects to the bastion, verifying its host key; rejects with a typed error. */
async function connectSsh(role: string, ssh: SshConfig, env: Env): Promise<Client> {
  const knownHostsText = existsSync(ssh.knownHosts) ? readFileSync(ssh.knownHosts, 'utf8') : '';
  // Set once the server has shown its key: a refusal before that is a network error.
  let verdict: HostKeyVerdict | undefined;
  const privateKey = privateKeyOf(ssh, env);
  const agent = ssh.agent ? env.SSH_AUTH_SOCK : undefined;
  if (privateKey === undefined && agent === undefined)
    throw tunnelError(
      role,
      ssh,
      'no private key',
      `Set ${role}.ssh.privateKeyFile or ${role}.ssh.privateKey, or agent: true with SSH_AUTH_SOCK set.`,
    );
  const options: ConnectConfig = {
    host: ssh.host,
    port: ssh.port,
    username: ssh.user,
    readyTimeout: 20_000,
    keepaliveInterval: 15_000,
    hostVerifier: (key: Buffer) => {
      verdict = verifyHostKey(knownHostsText, ssh.host, ssh.port, key);
      return verdict === 'known';
    },
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(ssh.passphrase ? { passphrase: ssh.passphrase } : {}),
    ...(agent ? { agent } : {}),
  };
  const client = new Client();
  return new Promise((resolveReady, reject) => {
    client.once('ready', () => resolveReady(client));
    client.once('error', (e: Error & { level?: string }) => {
      client.end();
      if (verdict !== undefined && verdict !== 'known') reject(verdictError(role, ssh, verdict));
      else if (e.level === 'client-authentication')
        reject(
          tunnelError(role, ssh, 'the key was refused', `Check ${role}.ssh.user and that the key is in the bastion's authorized_keys.`, e),
        );
      else reject(tunnelError(role, ssh, redact(messageOf(e)), `Check ${role}.ssh.host and ${role}.ssh.port.`, e));
    });
    try {
      client.connect(options);
    } catch (e) {
      reject(tunnelError(role, ssh, redact(messageOf(e)), `Check ${role}.ssh.privateKey / privateKeyFile and passphrase.`, e));
    }
  });
}

function forwardTo(client: Client, dest: { host: string; port: number }, sockets: Set<Socket>): Server {
  return createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    client.forwardOut('127.0.0.1', sock.localPort ?? 0, dest.host, dest.port, (err, stream) => {
      if (err) {
        sock.destroy();
        return;
      }
      stream.on('error', () => sock.destroy());
      sock.pipe(stream).pipe(sock);
    });
  });
}

/** Opens the tunnel of one server; the caller points its connections at the returned host/port. */
export async function openSshTunnel(role: 'source' | 'target', conn: ConnectionConfig, env: Env): Promise<OpenTunnel> {
  const ssh = conn.ssh as SshConfig;
  const client = await connectSsh(role, ssh, env);
  const sockets = new Set<Socket>();
  const server = forwardTo(client, { host: conn.host, port: conn.port }, sockets);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
      client.end();
    },
  };
}

/**
 * Opens the tunnels the config asks for and points the servers' connections at them; returns
 * what closes them and points the connections back. A failure closes what was opened.
 */
export async function openTunnels(config: { source: ConnectionConfig; target: ConnectionConfig }, env: Env): Promise<() => Promise<void>> {
  const opened: OpenTunnel[] = [];
  const closeAll = async (): Promise<void> => {
    for (const role of ['source', 'target'] as const) delete config[role].tunnel;
    await Promise.all(opened.splice(0).map((t) => t.close()));
  };
  try {
    for (const role of ['source', 'target'] as const) {
      const conn = config[role];
      if (!conn.ssh || conn.tunnel) continue;
      const t = await openSshTunnel(role, conn, env);
      opened.push(t);
      conn.tunnel = { host: t.host, port: t.port };
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  return closeAll;
}
