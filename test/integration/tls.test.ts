/**
 * SSL modes against real servers with TLS (libpq's meaning, the same on both engines): a
 * PostgreSQL and a MariaDB that accept TLS connections only, with a certificate from a throw-away
 * CA that names `localhost` and not 127.0.0.1. What passes and what is refused proves each mode
 * checks what it should: the chain (verify-ca), the host name too (verify-full), nothing
 * (require without a CA), and that `disable` really connects in plain text.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, runCli, tempDir, writeFile } from '../setup/cli.js';
import { makeCerts, type TestCerts } from '../setup/certs.js';
import { sshdAvailable, startBastion, type Bastion } from '../setup/sshd.js';
import {
  ownForPostgres,
  startMariadb,
  startPostgres,
  stopMariadb,
  stopPostgres,
  testMajors,
  type MariaServer,
  type PgServer,
} from '../setup/servers.js';

const servers = inject('servers');

interface Endpoint {
  port: number;
  user: string;
}

/** A plan whose source is the TLS server under `mode`, and whose target is a plain server of the suite. */
function planYaml(engine: 'postgresql' | 'mysql', tls: Endpoint, plain: Endpoint, source: Record<string, string>): string {
  return [
    'version: 1',
    `name: tls-${engine === 'mysql' ? 'my' : 'pg'}`,
    `engine: ${engine}`,
    'source:',
    `  port: ${tls.port}`,
    `  username: ${tls.user}`,
    ...Object.entries(source).map(([k, v]) => `  ${k}: ${v}`),
    'target:',
    '  host: 127.0.0.1',
    `  port: ${plain.port}`,
    `  username: ${plain.user}`,
    '  ssl: disable',
    'databases:',
    `  include: [${engine === 'mysql' ? 'tlsdb' : 'postgres'}]`,
    '',
  ].join('\n');
}

const REFUSED = /certificate|self.signed|altnames|Hostname\/IP does not match|SSL|TLS|rejected|pg_hba|Access denied/i;

/** The source's ssh block: the bastion reaches the server; dbferry's socket goes to the tunnel's 127.0.0.1. */
const sshBlock = (b: Bastion): Record<string, string> => ({
  ssh: `{host: 127.0.0.1, port: ${b.port}, user: ${b.user}, privateKeyFile: ${b.clientKey}, knownHosts: ${b.knownHosts}}`,
});

function casesFor(
  engine: 'postgresql' | 'mysql',
  endpoints: () => { tls: Endpoint; plain: Endpoint },
  certs: () => TestCerts,
  bastion: () => Bastion | undefined,
) {
  const plan = async (source: Record<string, string>) => {
    const dir = tempDir('dbferry-tls-');
    const { tls, plain } = endpoints();
    const file = writeFile(dir, 'migration.yaml', planYaml(engine, tls, plain, source));
    return runCli(['plan', '--json', file]);
  };
  it.skipIf(!sshdAvailable())(
    `${engine}: through an SSH tunnel, verify-full checks the server's own name, not the tunnel's address`,
    async () => {
      const b = bastion() as Bastion;
      const named = await plan({ host: 'localhost', ssl: 'verify-full', sslrootcert: certs().ca, ...sshBlock(b) });
      expect(named.stderr).toBe(named.code === 0 ? named.stderr : '');
      expect(named.code).toBe(0);
      const byAddress = await plan({ host: '127.0.0.1', ssl: 'verify-full', sslrootcert: certs().ca, ...sshBlock(b) });
      expect(byAddress.code).not.toBe(0);
      expect(byAddress.stderr).toMatch(/altnames|does not match/i);
    },
  );
  it(`${engine}: verify-ca accepts a certificate of the given CA whatever name it carries`, async () => {
    const r = await plan({ host: '127.0.0.1', ssl: 'verify-ca', sslrootcert: certs().ca });
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
  });
  it(`${engine}: verify-ca refuses a certificate of another CA`, async () => {
    const r = await plan({ host: '127.0.0.1', ssl: 'verify-ca', sslrootcert: certs().otherCa });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/source/);
    expect(r.stderr).toMatch(REFUSED);
  });
  it(`${engine}: verify-full refuses a certificate that does not name the host (127.0.0.1)`, async () => {
    const r = await plan({ host: '127.0.0.1', ssl: 'verify-full', sslrootcert: certs().ca });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/127\.0\.0\.1|localhost|altnames|does not match/i);
  });
  it(`${engine}: verify-full accepts the certificate when host is the name it carries (localhost)`, async () => {
    const r = await plan({ host: 'localhost', ssl: 'verify-full', sslrootcert: certs().ca });
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
  });
  it(`${engine}: require encrypts without checking the certificate; prefer uses TLS the server insists on`, async () => {
    expect((await plan({ host: '127.0.0.1', ssl: 'require' })).code).toBe(0);
    expect((await plan({ host: '127.0.0.1', ssl: 'prefer' })).code).toBe(0);
  });
  it(`${engine}: disable connects in plain text, which this server refuses`, async () => {
    const r = await plan({ host: '127.0.0.1', ssl: 'disable' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(REFUSED);
  });
}

describe('SSL modes against TLS-only servers', () => {
  let certs: TestCerts;
  let pgTls: PgServer;
  let myTls: MariaServer;
  let bastion: Bastion | undefined;
  beforeAll(async () => {
    if (sshdAvailable()) bastion = await startBastion();
    certs = makeCerts('localhost');
    ownForPostgres(certs.dir);
    ownForPostgres(certs.serverKey);
    ownForPostgres(certs.serverCert);
    [pgTls, myTls] = await Promise.all([
      startPostgres({
        major: testMajors()[0] ?? 15,
        settings: { ssl: 'on', ssl_cert_file: `'${certs.serverCert}'`, ssl_key_file: `'${certs.serverKey}'` },
        hba: ['hostnossl all all 127.0.0.1/32 reject', 'hostssl all all 127.0.0.1/32 trust'],
      }),
      startMariadb({
        serverId: 91,
        noBinlog: true,
        flags: [`--ssl-ca=${certs.ca}`, `--ssl-cert=${certs.serverCert}`, `--ssl-key=${certs.serverKey}`],
      }),
    ]);
    await myQuery(
      myTls,
      "CREATE USER 'tls'@'%' REQUIRE SSL; GRANT ALL ON *.* TO 'tls'@'%'; CREATE DATABASE tlsdb; CREATE TABLE tlsdb.t (id int PRIMARY KEY)",
    );
  });
  afterAll(async () => {
    await Promise.all([pgTls && stopPostgres(pgTls), myTls && stopMariadb(myTls), bastion?.stop()]);
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  describe('PostgreSQL', () => {
    casesFor(
      'postgresql',
      () => ({ tls: pgTls, plain: Object.values(servers.pg)[0] as PgServer }),
      () => certs,
      () => bastion,
    );
  });
  describe('MariaDB', () => {
    casesFor(
      'mysql',
      () => ({ tls: { port: myTls.port, user: 'tls' }, plain: servers.mariadb[0] as MariaServer }),
      () => certs,
      () => bastion,
    );
  });
});
