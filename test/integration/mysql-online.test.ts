/** MariaDB online migration: dump, then replication from the snapshot's GTID until cutover; cancel. */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'my_online';

function startWriter(s: MariaServer): { stop: () => Promise<number> } {
  let running = true;
  let ops = 0;
  const done = (async () => {
    const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, database: DB });
    const deadline = Date.now() + 60_000;
    try {
      while (running && Date.now() < deadline && ops < 100_000) {
        const i = ops++;
        if (i % 3 === 0) await c.query('INSERT INTO events (account, amount) VALUES (?, ?)', [1 + (i % 100), i]);
        else if (i % 3 === 1) await c.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [1 + (i % 100)]);
        else await c.query('DELETE FROM events WHERE amount = ? LIMIT 1', [i - 2]);
      }
    } finally {
      await c.end();
    }
  })();
  return { stop: async () => ((running = false), await done, ops) };
}

async function checksums(s: MariaServer): Promise<string[]> {
  const out: string[] = [];
  for (const t of ['accounts', 'events']) {
    const [r] = await myQuery<{ Checksum: string }>(s, `CHECKSUM TABLE ${DB}.${t} EXTENDED`);
    const [c] = await myQuery<{ n: number }>(s, `SELECT COUNT(*) AS n FROM ${DB}.${t}`);
    out.push(`${t}:${c?.n}:${r?.Checksum}`);
  }
  return out;
}

async function noReplica(): Promise<void> {
  expect(await myQuery(m2, 'SHOW SLAVE STATUS')).toEqual([]);
  expect(await myQuery(m2, 'SELECT @@GLOBAL.gtid_slave_pos AS p, @@GLOBAL.replicate_do_db AS d')).toEqual([{ p: '', d: '' }]);
}

beforeAll(async () => {
  await myQuery(
    m1,
    `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}; USE ${DB};
     CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);
     CREATE TABLE events (id bigint AUTO_INCREMENT PRIMARY KEY, account int, amount int, KEY (amount));
     INSERT INTO accounts SELECT seq, 0 FROM seq_1_to_100;
     INSERT INTO events (account, amount) SELECT 1 + seq % 100, seq FROM seq_1_to_20000;
     DROP DATABASE IF EXISTS ${DB}_b; CREATE DATABASE ${DB}_b; CREATE TABLE ${DB}_b.notes (id int AUTO_INCREMENT PRIMARY KEY, body text);
     INSERT INTO ${DB}_b.notes (body) SELECT concat('note ', seq) FROM seq_1_to_500;`,
  );
});
afterAll(async () => {
  await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS ${DB}_b`);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS ${DB}_b; DROP DATABASE IF EXISTS dbferry`);
});

describe('MySQL online migration', () => {
  it('replicates every change made during and after the copy, two databases on one snapshot; cutover ends equal and removes the replica', async () => {
    await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS ${DB}_b; DROP DATABASE IF EXISTS dbferry`);
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      mysqlYaml({
        name: 'my-online',
        source: m1,
        target: m2,
        include: [DB, `${DB}_b`],
        extra: 'mode: online\nmethod: replication\nreplication:\n  maxLag: 5s',
      }),
    );
    const writer = startWriter(m1);
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /replicating my_online, my_online_b from GTID [\d-]+ until cutover|replicating my_online_b, my_online from GTID/,
    );
    await myQuery(m1, `INSERT INTO ${DB}_b.notes (body) VALUES ('during replication')`);
    const st = JSON.parse((await runCli(['status', file, '--json'])).stdout) as {
      substate: string;
      databases: { status: string; lag: number | null; error: string | null }[];
      migration: { status: string };
    };
    expect(st).toMatchObject({ substate: 'WaitingForCutoverTrigger', migration: { status: 'syncing' } });
    expect(st.databases[0]).toMatchObject({ status: 'syncing', error: null });
    const ops = await writer.stop();
    expect(ops).toBeGreaterThan(50);
    // One replica serves both databases: cutting over one alone is refused, and changes nothing.
    const one = await runCli(['cutover', '--db', DB, file]);
    expect(one.code, one.stderr).toBe(2);
    expect(one.stderr).toContain(`one replica on the target replicates ${DB}, ${DB}_b together, so ${DB}_b would stop replicating too`);
    expect((await myQuery<{ io: string }>(m2, 'SHOW SLAVE STATUS')).length).toBe(1);
    const c = await runCli(['cutover', file]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/my_online: cut over; replication stopped and removed; writes had to be paused for/);
    expect(await checksums(m2)).toEqual(await checksums(m1));
    const notes = `CHECKSUM TABLE ${DB}_b.notes EXTENDED`;
    expect(await myQuery(m2, notes)).toEqual(await myQuery(m1, notes));
    expect((await myQuery<{ n: number }>(m2, `SELECT COUNT(*) AS n FROM ${DB}_b.notes`))[0]?.n).toBe(501);
    await noReplica();
  });

  it('cancel during replication removes the replica configuration and keeps the data', async () => {
    await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      mysqlYaml({ name: 'my-cancel', source: m1, target: m2, include: [DB], extra: 'mode: online\nmethod: replication' }),
    );
    expect((await runCli(['apply', file, '--yes'])).code).toBe(0);
    const r = await runCli(['cancel', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Migration "my-cancel": Canceled');
    await noReplica();
    expect((await myQuery<{ n: number }>(m2, `SELECT COUNT(*) AS n FROM ${DB}.accounts`))[0]?.n).toBe(100);
  });
});
