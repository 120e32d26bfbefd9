/**
 * The state store's store-wide locks on a real MariaDB: while another session holds the
 * registration lock, a store that waited its time gives up with LOCKED and does not run what
 * needed the lock; once the lock is free it runs.
 */
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { SqlStateStore } from '../../src/state/store.js';
import type { MariaServer } from '../setup/servers.js';

const server = inject('servers').mariadb[0] as MariaServer;
const connect = () => mysql.createConnection({ host: server.host, port: server.port, user: server.user });
const opened: mysql.Connection[] = [];

afterAll(async () => {
  for (const c of opened) await c.end().catch(() => undefined);
});

async function storeWithWait(seconds: number): Promise<SqlStateStore> {
  const c = await connect();
  opened.push(c);
  return new SqlStateStore(
    {
      dialect: 'mysql',
      query: async (sql, params) => (await c.query(sql, params ?? []))[0] as Record<string, unknown>[],
      close: () => c.end(),
    },
    'test MariaDB',
    seconds,
  );
}

describe('state store locks on MySQL', () => {
  it('gives up with LOCKED after its wait while another session holds the lock, and runs once it is free', async () => {
    const holder = await connect();
    opened.push(holder);
    await holder.query(`SELECT GET_LOCK('dbferry: registration', 0)`);
    const store = await storeWithWait(1);
    let ran = false;
    const t0 = Date.now();
    await expect(store.withRegistrationLock(async () => (ran = true))).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringContaining("state store's registration lock on the test MariaDB for 1 s"),
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(ran).toBe(false);
    await holder.query(`SELECT RELEASE_LOCK('dbferry: registration')`);
    await expect(store.withRegistrationLock(async () => 'ran')).resolves.toBe('ran');
  });
});
