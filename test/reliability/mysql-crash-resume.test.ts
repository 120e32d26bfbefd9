/**
 * MySQL/MariaDB: `kill -9` of `apply` at seeded-random points of the dump method, and at the two
 * points of the online method between copy and replication; `apply` again ends with source and
 * target equal (and, online, a cutover leaves no replica behind).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, runCli, spawnCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';
import { seededPick } from '../setup/seeded.js';

const servers = inject('servers');
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'my_crash';

async function state(s: MariaServer): Promise<string[]> {
  const out: string[] = [];
  for (const { t, k } of await myQuery<{ t: string; k: string }>(
    s,
    `SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}' ORDER BY 1`,
  )) {
    const q = `\`${DB}\`.\`${t.replace(/`/g, '``')}\``;
    if (k === 'VIEW') {
      out.push(`view ${t}`);
      continue;
    }
    const [r] = await myQuery<{ Checksum: string }>(s, `CHECKSUM TABLE ${q} EXTENDED`);
    const [c] = await myQuery<{ n: number }>(s, `SELECT COUNT(*) AS n FROM ${q}`);
    const [ddl] = await myQuery<Record<string, string>>(s, `SHOW CREATE TABLE ${q}`);
    out.push(`${t}:${c?.n}:${r?.Checksum}:${String(ddl?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '')}`);
  }
  for (const { n } of await myQuery<{ n: string }>(
    s,
    `SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${DB}'`,
  ))
    out.push(`trigger ${n}`);
  return out;
}

async function resetTarget(): Promise<void> {
  await myQuery(m2, 'STOP SLAVE').catch(() => undefined);
  await myQuery(m2, `RESET SLAVE ALL`).catch(() => undefined);
  await myQuery(m2, `SET GLOBAL replicate_do_db = ''`).catch(() => undefined);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
}

async function noReplica(): Promise<void> {
  expect(await myQuery(m2, 'SHOW SLAVE STATUS')).toEqual([]);
  expect(await myQuery(m2, 'SELECT @@GLOBAL.replicate_do_db AS d')).toEqual([{ d: '' }]);
}

function config(name: string, extra = ''): string {
  return writeFile(
    tempDir(),
    'migration.yaml',
    mysqlYaml({
      name,
      source: m1,
      target: m2,
      include: [DB],
      extra: `copy:\n  jobs: 2\n  splitTablesLargerThan: 256kB\nverify: checksums\n${extra}`,
    }),
  );
}

beforeAll(async () => {
  await myQuery(
    m1,
    `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB} CHARACTER SET utf8mb4; USE ${DB};
     CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL, UNIQUE KEY (name));
     CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer_id int NOT NULL, amount decimal(12,2), note text, FOREIGN KEY (customer_id) REFERENCES customers(id));
     CREATE TABLE \`odd "name".x\` (\`select\` int PRIMARY KEY, \`ü\` varchar(20));
     CREATE TABLE blobs (id int PRIMARY KEY, b blob);
     CREATE TABLE nokey (a int, b varchar(10));
     INSERT INTO customers (name) SELECT concat('c', seq) FROM seq_1_to_300;
     INSERT INTO orders (customer_id, amount, note) SELECT 1 + seq % 300, seq / 100, repeat('n', seq % 50) FROM seq_1_to_40000;
     INSERT INTO \`odd "name".x\` VALUES (1, 'ü ☃'), (2, NULL), (3, '');
     INSERT INTO blobs SELECT seq, unhex(repeat('00FF5C0A0D09', seq % 20)) FROM seq_1_to_500;
     INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (NULL, NULL);
     CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
     CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.note = coalesce(NEW.note, '');`,
  );
  await resetTarget();
});
afterAll(async () => {
  await resetTarget();
  await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}`);
});

const DUMP_POINTS = [
  'after:create-database',
  'after:schema-pre-data',
  'mid-copy',
  'after-table-1',
  'after-table-2',
  'after-table-3',
  'after-table-4',
  'after:copy-data',
  'after:schema-objects',
];

describe('MySQL: kill -9 at seeded-random points of the dump method, then apply again', () => {
  const points = process.env.DBFERRY_STRESS ? DUMP_POINTS : seededPick(DUMP_POINTS, 5, Number(process.env.DBFERRY_KILL_SEED ?? 7));
  for (const point of points) {
    it(`crash ${point}: the re-run copies the database again and source and target are equal`, async () => {
      await resetTarget();
      const file = config(`my-crash-${point.replace(/:/g, '-')}`);
      const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const again = await runCli(['apply', file, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`Resumed migration "my-crash-${point.replace(/:/g, '-')}"`);
      expect(await state(m2)).toEqual(await state(m1));
    });
  }
});

describe('MySQL online: kill -9 between the copy and the replica', () => {
  for (const point of ['after:schema-objects', 'replica-started']) {
    it(`crash ${point}: apply again replicates, changes made meanwhile arrive, cutover ends equal with no replica left`, async () => {
      await resetTarget();
      const file = config(`my-crash-online-${point.replace(/:/g, '-')}`, 'mode: online\nmethod: replication\nreplication:\n  maxLag: 5s');
      const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      await myQuery(
        m1,
        `INSERT INTO ${DB}.orders (customer_id, amount) VALUES (1, 1.5), (2, 2.5); UPDATE ${DB}.customers SET name = concat(name, '!') WHERE id <= 10; DELETE FROM ${DB}.blobs WHERE id <= 5`,
      );
      const again = await runCli(['apply', file, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      await myQuery(m1, `INSERT INTO ${DB}.orders (customer_id, amount) VALUES (3, 3.5); DELETE FROM ${DB}.nokey WHERE a IS NULL`);
      const cut = await runCli(['cutover', file]);
      expect(cut.code, cut.stderr + cut.stdout).toBe(0);
      expect(await state(m2)).toEqual(await state(m1));
      await noReplica();
    });
  }
});
