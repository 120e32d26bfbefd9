/** MySQL/MariaDB dump method on real MariaDB instances: schema (SHOW CREATE) and data equal. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'my_fid';
/** A table named: odd `name` (a space and backticks). */
const ODD = '`odd ``name```';

const FIXTURE = `
DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; USE ${DB};
CREATE TABLE customers (id int AUTO_INCREMENT PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, name varchar(50) CHARACTER SET latin1, created datetime(3) DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB;
CREATE TABLE ${ODD} (\`select\` int PRIMARY KEY, \`ünï\` text, \`a.b\` varchar(10)) ENGINE=InnoDB;
CREATE TABLE everything (
  id bigint AUTO_INCREMENT PRIMARY KEY, t text, e varchar(10), nul varchar(10), b blob, vb varbinary(16), j json, d decimal(30,10), f double, fl float,
  i8 bigint, u8 bigint unsigned, bit4 bit(4), dt datetime(6), ts timestamp NULL, dd date, tm time(3), yr year, en enum('a','b','ü ☃'), st set('x','y','z'),
  g bigint GENERATED ALWAYS AS (i8 * 2) VIRTUAL, gs varchar(20) GENERATED ALWAYS AS (concat(e, '!')) STORED,
  customer_id int, FOREIGN KEY (customer_id) REFERENCES customers(id)
) ENGINE=InnoDB;
INSERT INTO customers (email, name) VALUES ('a@x', 'Ann'), ('b@x', 'Bjørn'), ('c@x', NULL);
INSERT INTO ${ODD} VALUES (1, 'ü ☃ 😀', 'x'), (2, 'tab\\there\\nline \\\\ back', NULL);
INSERT INTO everything (t, e, nul, b, vb, j, d, f, fl, i8, u8, bit4, dt, ts, dd, tm, yr, en, st, customer_id) VALUES
 ('plain', '', NULL, x'00FF0A0D09005C', x'000102', '{"a": [1, 2.5, null], "ü": "☃"}', 12345678901234567890.0123456789, 2.718281828459045, 3.25, -4611686018427387904, 18446744073709551615, b'1010', '2024-02-29 23:59:59.999999', '2024-06-01 12:00:00', '2024-02-29', '-838:59:59.000', 2024, 'ü ☃', 'x,z', 1),
 (NULL, NULL, '', '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL);
INSERT INTO everything (t, i8, customer_id) SELECT concat('row ', seq), seq, 1 + seq % 3 FROM seq_1_to_20000;
ALTER TABLE everything AUTO_INCREMENT = 50000;
CREATE TABLE nokey (a int, b text) ENGINE=InnoDB; INSERT INTO nokey VALUES (1, 'x'), (1, 'x');
CREATE TABLE skipped (id int PRIMARY KEY); INSERT INTO skipped VALUES (1);
CREATE VIEW v_b AS SELECT id, email FROM customers WHERE id > 1;
CREATE VIEW v_a AS SELECT id FROM v_b;
CREATE FUNCTION add1(x int) RETURNS int DETERMINISTIC RETURN x + 1;
CREATE PROCEDURE noop() BEGIN SELECT 1; END;
CREATE TRIGGER cust_bi BEFORE INSERT ON customers FOR EACH ROW SET NEW.name = coalesce(NEW.name, 'anon');
CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM nokey WHERE a < 0;
ANALYZE TABLE everything;
`;

async function checksums(s: MariaServer): Promise<Record<string, string>> {
  const tables = await myQuery<{ t: string }>(
    s,
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [r] = await myQuery<{ Checksum: string }>(s, `CHECKSUM TABLE \`${DB}\`.\`${t.replace(/`/g, '``')}\` EXTENDED`);
    const [c] = await myQuery<{ n: number }>(s, `SELECT COUNT(*) AS n FROM \`${DB}\`.\`${t.replace(/`/g, '``')}\``);
    out[t] = `${c?.n}:${r?.Checksum}`;
  }
  return out;
}

async function creates(s: MariaServer): Promise<string[]> {
  const out: string[] = [];
  for (const { t, k } of await myQuery<{ t: string; k: string }>(
    s,
    `SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${DB}' ORDER BY 1`,
  )) {
    const [r] = await myQuery<Record<string, string>>(
      s,
      `SHOW CREATE ${k === 'VIEW' ? 'VIEW' : 'TABLE'} \`${DB}\`.\`${t.replace(/`/g, '``')}\``,
    );
    out.push(String(r?.['Create Table'] ?? r?.['Create View']));
  }
  for (const { n, k } of await myQuery<{ n: string; k: string }>(
    s,
    `SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS k FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${DB}' ORDER BY 1`,
  )) {
    const [r] = await myQuery<Record<string, string>>(s, `SHOW CREATE ${k} \`${DB}\`.\`${n}\``);
    out.push(String(r?.[k === 'FUNCTION' ? 'Create Function' : 'Create Procedure']));
  }
  for (const { n } of await myQuery<{ n: string }>(
    s,
    `SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${DB}'`,
  ))
    out.push(`trigger ${n}`);
  for (const { n } of await myQuery<{ n: string }>(s, `SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '${DB}'`))
    out.push(`event ${n}`);
  return out;
}

beforeAll(async () => {
  await myQuery(m1, FIXTURE);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
});
afterAll(async () => {
  await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}`);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
});

describe('MySQL dump method', () => {
  it('copies tables, data, views, routines, triggers and events; equal on both sides', async () => {
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      mysqlYaml({
        name: 'my-dump',
        source: m1,
        target: m2,
        include: [DB],
        extra: `tables:\n  skip: [${DB}.skipped]\ncopy:\n  jobs: 2\n  splitTablesLargerThan: 64kB\nverify: checksums`,
      }),
    );
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/everything in [2-9] key ranges/);
    expect(await creates(m2)).toEqual(await creates(m1));
    const a = await checksums(m1);
    const b = await checksums(m2);
    expect(b.skipped).toMatch(/^0:/);
    delete a.skipped;
    delete b.skipped;
    expect(b).toEqual(a);
    const st = JSON.parse((await runCli(['status', file, '--json'])).stdout) as { state: string; migration_detail: unknown[] };
    expect(st).toMatchObject({ state: 'Succeeded', migration_detail: [{ dbname: DB, method: 'mysqldump', status: 'done' }] });
  });
});
