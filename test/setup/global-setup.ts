/** vitest globalSetup for the integration project: start the real servers, hand them to tests. */
import type { TestProject } from 'vitest/node';
import { startMariadb, startPostgres, stopMariadb, stopPostgres, testMajors, type MariaServer, type PgServer } from './servers.js';

export interface TestServers {
  pg: Record<string, PgServer>;
  mariadb: MariaServer[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    servers: TestServers;
  }
}

let started: { pg: PgServer[]; maria: MariaServer[] } = { pg: [], maria: [] };

export async function setup(project: TestProject): Promise<void> {
  const majors = testMajors();
  try {
    // A role that must authenticate with a password, for the wrong-password tests.
    const hba = ['host all dbferry_pw 127.0.0.1/32 scram-sha-256'];
    // Each server is recorded as soon as it is up, so a failure still tears down the others.
    // A lock table big enough for pg_dump of the 10,000-table database of the stress suite.
    const settings = { max_locks_per_transaction: 256 };
    await Promise.all(majors.map(async (major) => started.pg.push(await startPostgres({ major, hba, settings }))));
    await Promise.all([11, 12].map(async (serverId) => started.maria.push(await startMariadb({ serverId }))));
    started.maria.sort((a, b) => a.serverId - b.serverId);
  } catch (e) {
    await teardown();
    throw e;
  }
  project.provide('servers', {
    pg: Object.fromEntries(started.pg.map((s) => [String(s.major), s])),
    mariadb: started.maria,
  });
}

export async function teardown(): Promise<void> {
  if (process.env.DBFERRY_KEEP_SERVERS) return;
  await Promise.all([...started.pg.map((s) => stopPostgres(s)), ...started.maria.map((s) => stopMariadb(s))]);
  started = { pg: [], maria: [] };
}
