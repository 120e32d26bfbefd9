/**
 * PostgreSQL online: `kill -9` during replication set-up (publication, slot, mid-copy,
 * subscription) and during cutover (caught up, subscription dropped). `apply` again (or `cutover`
 * again) ends with source and target equal, changes made in between included, and no slot,
 * publication, subscription or replication origin left; `cancel` after a crash leaves none either.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { pgQuery, pgYaml, runCli, spawnCli, tempDir, writeFile } from '../setup/cli.js';
import { noReplicationLeft } from '../setup/leftovers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const DB = 'online_crash';

/** Removes whatever an earlier (possibly failed) case left, by SQL, so one failure cannot cascade. */
async function resetTarget(): Promise<void> {
  for (const { subname } of await pgQuery<{ subname: string }>(
    tgt,
    `SELECT subname FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = '${DB}'`,
  )) {
    await pgQuery(
      tgt,
      `ALTER SUBSCRIPTION "${subname}" DISABLE; ALTER SUBSCRIPTION "${subname}" SET (slot_name = NONE); DROP SUBSCRIPTION "${subname}"`,
      DB,
    );
  }
  await pgQuery(
    src,
    `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'dbferry\\_%' AND NOT active`,
  );
  for (const { pubname } of await pgQuery<{ pubname: string }>(
    src,
    `SELECT pubname FROM pg_publication WHERE pubname LIKE 'dbferry\\_%'`,
    DB,
  ))
    await pgQuery(src, `DROP PUBLICATION "${pubname}"`, DB);
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

function config(name: string): string {
  return writeFile(
    tempDir(),
    'migration.yaml',
    pgYaml({
      name,
      source: src,
      target: tgt,
      include: [DB],
      extra: 'mode: online\nmethod: replication\nreplication:\n  maxLag: 64kB\ncopy:\n  jobs: 2',
    }),
  );
}

let n = 0;
/** Some writes of every kind on the source. */
async function write(): Promise<void> {
  n++;
  await pgQuery(
    src,
    `INSERT INTO accounts SELECT g, g FROM generate_series(${100000 * n}, ${100000 * n + 50}) g; UPDATE accounts SET balance = balance + 1 WHERE id % 7 = ${n % 7}; DELETE FROM events WHERE id % 11 = ${n % 11}`,
    DB,
  );
}

async function expectEqual(): Promise<void> {
  expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
}

beforeAll(async () => {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(src, `CREATE DATABASE ${DB}`);
  await pgQuery(
    src,
    `CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL DEFAULT 0);
     CREATE TABLE events (id bigserial PRIMARY KEY, account_id int, note text);
     INSERT INTO accounts SELECT g, g * 10 FROM generate_series(1, 5000) g;
     INSERT INTO events (account_id, note) SELECT 1 + g % 5000, md5(g::text) FROM generate_series(1, 60000) g;`,
    DB,
  );
});
afterAll(async () => {
  await resetTarget();
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
});

describe('kill -9 during replication set-up, then apply again', () => {
  for (const point of ['after-publication', 'after-slot', 'mid-copy', 'after:subscription']) {
    it(`crash ${point}: apply again replicates, cutover ends equal, nothing left behind`, async () => {
      await resetTarget();
      const file = config(`oc-${point.replace(/:/g, '-')}`);
      const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      await write();
      const again = await runCli(['apply', file, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      await write();
      const cut = await runCli(['cutover', file]);
      expect(cut.code, cut.stderr).toBe(0);
      await expectEqual();
      await noReplicationLeft(src, tgt);
    });
  }

  it('crash after-slot, then cancel: nothing left behind', async () => {
    await resetTarget();
    const file = config('oc-cancel');
    const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: 'after-slot' } });
    expect(crashed.signal).toBe('SIGKILL');
    const r = await runCli(['cancel', file]);
    expect(r.code, r.stderr).toBe(0);
    await noReplicationLeft(src, tgt);
  });
});

describe('kill -9 during cutover, then cutover again', () => {
  for (const point of ['cutover-caught-up', 'cutover-unsubscribed']) {
    it(`crash ${point}: cutover again finishes, equal, nothing left behind`, async () => {
      await resetTarget();
      const file = config(`oc-${point.replace(/:/g, '-')}`);
      expect((await runCli(['apply', file, '--yes'])).code).toBe(0);
      await write();
      const crashed = await spawnCli(['cutover', file], { env: { DBFERRY_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const again = await runCli(['cutover', file]);
      expect(again.code, again.stderr + again.stdout).toBe(0);
      expect(again.stdout).toContain(`Migration "oc-${point}": Succeeded`);
      await expectEqual();
      await noReplicationLeft(src, tgt);
    });
  }
});
