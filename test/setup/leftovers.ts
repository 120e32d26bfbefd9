/** "Nothing left": no replication slot, publication, subscription or origin of dbferry on either PostgreSQL server, in any database. */
import { expect } from 'vitest';
import { pgQuery } from './cli.js';
import type { PgServer } from './servers.js';

export async function noReplicationLeft(src: PgServer, tgt: PgServer): Promise<void> {
  expect(await pgQuery(src, `SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'dbferry%'`)).toEqual([]);
  for (const s of [src, tgt]) {
    for (const { datname } of await pgQuery<{ datname: string }>(s, 'SELECT datname FROM pg_database WHERE datallowconn')) {
      expect(await pgQuery(s, `SELECT pubname FROM pg_publication WHERE pubname LIKE 'dbferry%'`, datname), `${datname}`).toEqual([]);
    }
  }
  expect(await pgQuery(tgt, 'SELECT subname FROM pg_subscription')).toEqual([]);
  expect(await pgQuery(tgt, 'SELECT roname FROM pg_replication_origin')).toEqual([]);
}
