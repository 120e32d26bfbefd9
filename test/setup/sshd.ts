/**
 * An OpenSSH server (Debian's openssh-server) on a loopback port in a temp directory: a bastion for
 * the SSH-tunnel tests. Key authentication only; its host key and a client key are generated per
 * run, and a known_hosts file recording the host key is written beside them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './cli.js';
import { freePort } from './servers.js';

const run = promisify(execFile);
export const SSHD = '/usr/sbin/sshd';

export interface Bastion {
  port: number;
  user: string;
  clientKey: string;
  knownHosts: string;
  /** A known_hosts file naming the bastion with some other key. */
  wrongKnownHosts: string;
  /** Connections the bastion forwarded, from its log. */
  forwardedTo(): string[];
  stop(): Promise<void>;
}

export const sshdAvailable = (): boolean => existsSync(SSHD);

export async function startBastion(): Promise<Bastion> {
  const dir = tempDir('dbferry-sshd-');
  const keygen = (file: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  await keygen(join(dir, 'host_key'));
  await keygen(join(dir, 'other_host_key'));
  await keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o600 });
  const port = await freePort();
  const user = (await run('id', ['-un'])).stdout.trim();
  // sshd running as root wants its privilege-separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const log = join(dir, 'sshd.log');
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'PermitRootLogin prohibit-password',
      // DEBUG1 is the level that logs each forwarded connection (direct-tcpip) and its target.
      'LogLevel DEBUG1',
    ].join('\n') + '\n',
  );
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config'), '-E', log], { stdio: 'ignore' });
  const hostLine = (pub: string) => `[127.0.0.1]:${port} ${readFileSync(pub, 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
  writeFileSync(join(dir, 'known_hosts'), hostLine(join(dir, 'host_key.pub')));
  writeFileSync(join(dir, 'wrong_known_hosts'), hostLine(join(dir, 'other_host_key.pub')));
  for (let i = 0; i < 100; i++) {
    if (existsSync(log) && readFileSync(log, 'utf8').includes('Server listening')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    user,
    clientKey: join(dir, 'client_key'),
    knownHosts: join(dir, 'known_hosts'),
    wrongKnownHosts: join(dir, 'wrong_known_hosts'),
    forwardedTo: () =>
      [...readFileSync(log, 'utf8').matchAll(/server_request_direct_tcpip: originator \S+ port \d+, target (\S+) port (\d+)/g)].map(
        (m) => `${m[1]}:${m[2]}`,
      ),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    },
  };
}

/** An ssh-agent holding the bastion's client key, for `ssh.agent: true`. */
export async function startAgent(b: Bastion): Promise<{ sock: string; stop(): Promise<void> }> {
  const sock = join(tempDir('dbferry-agent-'), 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
  await run('ssh-add', [b.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
  return {
    sock,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    },
  };
}
