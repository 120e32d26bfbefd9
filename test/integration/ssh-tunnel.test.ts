/**
 * SSH tunnels: a real OpenSSH server (Debian's openssh-server) started on a loopback port is the
 * bastion; dbferry reaches the servers only through it, key authentication, host key verified.
 * Skips when sshd is not installed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { myQuery, pgQuery, runCli, spawnCli, tempDir, writeFile } from '../setup/cli.js';
import { sshdAvailable, startAgent, startBastion, type Bastion } from '../setup/sshd.js';
import { freePort, type MariaServer, type PgServer } from '../setup/servers.js';

const servers = inject('servers');

const serverBlock = (role: string, s: { port: number; user: string }, b: Bastion, knownHosts = b.knownHosts, key = 'privateKeyFile') => [
  `${role}:`,
  '  host: 127.0.0.1',
  `  port: ${s.port}`,
  `  username: ${s.user}`,
  '  ssl: disable',
  '  ssh:',
  '    host: 127.0.0.1',
  `    port: ${b.port}`,
  `    user: ${b.user}`,
  key === 'privateKeyFile' ? `    privateKeyFile: ${b.clientKey}` : '    privateKey: ${SSH_KEY}',
  `    knownHosts: ${knownHosts}`,
];

describe.skipIf(!sshdAvailable())('SSH tunnels through a bastion', () => {
  let bastion: Bastion;
  let src: PgServer;
  let tgt: PgServer;
  beforeAll(async () => {
    bastion = await startBastion();
    const pgs = Object.values(servers.pg);
    src = pgs[0] as PgServer;
    tgt = (pgs[1] ?? pgs[0]) as PgServer;
    if (src === tgt) throw new Error('the SSH tunnel test needs two PostgreSQL servers');
    await pgQuery(src, 'DROP DATABASE IF EXISTS tunneled');
    await pgQuery(tgt, 'DROP DATABASE IF EXISTS tunneled');
    await pgQuery(src, 'CREATE DATABASE tunneled');
    await pgQuery(
      src,
      `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
       CREATE SEQUENCE s; SELECT setval('s', 42);`,
      'tunneled',
    );
  });
  afterAll(async () => {
    await bastion?.stop();
    await pgQuery(src, 'DROP DATABASE IF EXISTS tunneled');
    await pgQuery(tgt, 'DROP DATABASE IF EXISTS tunneled');
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  });

  it('migrates offline with every connection, pg_dump included, through the tunnels; the key from ${VAR} never shows', async () => {
    const key = readFileSync(bastion.clientKey, 'utf8');
    const yaml = [
      'version: 1',
      'name: tunneled',
      ...serverBlock('source', src, bastion, bastion.knownHosts, 'privateKey'),
      ...serverBlock('target', tgt, bastion),
      'databases:',
      '  include: [tunneled]',
    ].join('\n');
    const file = writeFile(tempDir(), 'migration.yaml', yaml);
    const env = { SSH_KEY: key };
    const check = await runCli(['check', file], { env });
    expect(check.code, check.stderr + check.stdout).toBe(0);
    expect(check.stdout).toMatch(/pg\.source\.ssh_tunnel.*source reached through an SSH tunnel via/);
    const before = bastion.forwardedTo().length;
    const r = await runCli(['apply', file, '--yes', '--log-format', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(await dataHashes(tgt, 'tunneled')).toEqual(await dataHashes(src, 'tunneled'));
    expect((await pgQuery<{ v: string }>(tgt, 'SELECT last_value::text AS v FROM s', 'tunneled'))[0]?.v).toBe('42');
    // The bastion forwarded connections to both database ports (pg_dump's among them).
    const forwarded = bastion.forwardedTo().slice(before);
    expect(forwarded).toContain(`127.0.0.1:${src.port}`);
    expect(forwarded).toContain(`127.0.0.1:${tgt.port}`);
    for (const line of key.split('\n').filter((l) => l.length >= 16)) {
      expect(r.stdout + r.stderr + check.stdout + check.stderr).not.toContain(line);
    }
    const status = await runCli(['status', file, '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).state).toBe('Succeeded');
  });

  it('refuses a bastion whose host key is not the recorded one, with the reason and no stack', async () => {
    const yaml = [
      'version: 1',
      'name: tunneled-bad-key',
      ...serverBlock('source', src, bastion, bastion.wrongKnownHosts),
      'target:',
      `  port: ${tgt.port}`,
      '  ssl: disable',
    ].join('\n');
    const file = writeFile(tempDir(), 'migration.yaml', yaml);
    const r = await runCli(['check', file]);
    // Like any server that cannot be reached: exit 2, the server named.
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cannot open the SSH tunnel to the source server through .*host key differs from the one recorded/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('says which: a bastion not listening, or one whose key is not recorded at all', async () => {
    const closed = { ...bastion, port: await freePort() };
    const refused = [
      'version: 1',
      'name: tunneled-refused',
      ...serverBlock('source', src, closed),
      'target:',
      `  port: ${tgt.port}`,
      '  ssl: disable',
    ];
    const r1 = await runCli(['check', writeFile(tempDir(), 'migration.yaml', refused.join('\n'))]);
    expect(r1.code, r1.stderr).toBe(2);
    expect(r1.stderr).toMatch(/cannot open the SSH tunnel to the source server through .*ECONNREFUSED/);
    expect(r1.stderr).toContain('Check source.ssh.host and source.ssh.port.');
    const empty = writeFile(tempDir(), 'known_hosts', '');
    const unknown = [
      'version: 1',
      'name: tunneled-unknown',
      ...serverBlock('source', src, bastion, empty),
      'target:',
      `  port: ${tgt.port}`,
      '  ssl: disable',
    ];
    const r2 = await runCli(['check', writeFile(tempDir(), 'migration.yaml', unknown.join('\n'))]);
    expect(r2.code, r2.stderr).toBe(2);
    expect(r2.stderr).toMatch(/its host key is not in .*known_hosts/);
    expect(r2.stderr).toContain(`ssh-keyscan -p ${bastion.port} 127.0.0.1`);
  });

  it('fails the online check for a source reached only through SSH, naming the options', async () => {
    const yaml = [
      'version: 1',
      'name: tunneled-online',
      'mode: online',
      ...serverBlock('source', src, bastion),
      ...serverBlock('target', tgt, bastion),
      'databases:',
      '  include: [tunneled]',
    ].join('\n');
    const file = writeFile(tempDir(), 'migration.yaml', yaml);
    // The binary, so the tunnels are seen to close: the process would not exit otherwise.
    const r = await spawnCli(['check', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/pg\.source\.ssh_tunnel.*target server itself to connect to the source/);
    expect(r.stdout).toMatch(/mode: offline/);
  });

  it('reaches MariaDB through the tunnel too, authenticated by the SSH agent', async () => {
    const [a, b] = servers.mariadb as [MariaServer, MariaServer];
    await myQuery(a, 'DROP DATABASE IF EXISTS tunneled_my');
    await myQuery(b, 'DROP DATABASE IF EXISTS tunneled_my');
    await myQuery(a, 'CREATE DATABASE tunneled_my');
    await myQuery(a, 'CREATE TABLE tunneled_my.t (id int PRIMARY KEY, v varchar(40))');
    await myQuery(a, 'INSERT INTO tunneled_my.t VALUES (1, "one"), (2, "two")');
    const viaAgent = (role: string, s: MariaServer) =>
      serverBlock(role, s, bastion).map((l) => (l.includes('privateKeyFile') ? '    agent: true' : l));
    const yaml = [
      'version: 1',
      'name: tunneled-my',
      'engine: mysql',
      ...viaAgent('source', a),
      ...viaAgent('target', b),
      'databases:',
      '  include: [tunneled_my]',
    ].join('\n');
    const file = writeFile(tempDir(), 'migration.yaml', yaml);
    const before = bastion.forwardedTo().length;
    const agent = await startAgent(bastion);
    // No key file anywhere the default lookup would find one: only the agent can authenticate.
    const r = await runCli(['apply', file, '--yes'], { env: { SSH_AUTH_SOCK: agent.sock, HOME: tempDir() } }).finally(() => agent.stop());
    expect(r.code, r.stderr).toBe(0);
    expect(await myQuery(b, 'SELECT id, v FROM tunneled_my.t ORDER BY id')).toEqual([
      { id: 1, v: 'one' },
      { id: 2, v: 'two' },
    ]);
    expect(bastion.forwardedTo().slice(before)).toContain(`127.0.0.1:${a.port}`);
    await myQuery(a, 'DROP DATABASE IF EXISTS tunneled_my');
    await myQuery(b, 'DROP DATABASE IF EXISTS tunneled_my');
  });
});
