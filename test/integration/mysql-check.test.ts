/** The MySQL/MariaDB pre-migration check on real MariaDB instances, failing paths produced for real. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import { startMariadb, stopMariadb, type MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
let bad: MariaServer;
let nobin: MariaServer;

interface Doc {
  result: string;
  checks: { id: string; database: string | null; result: string; message: string; hint: string }[];
  databases: { dbname: string; method: string; reason: string }[];
  migration: { error: string | null; method: string; status: string };
}

async function check(yaml: string, env: Record<string, string> = {}): Promise<{ code: number; doc: Doc; text: string }> {
  const file = writeFile(tempDir(), 'migration.yaml', yaml);
  const j = await runCli(['check', file, '--json'], { env });
  const t = await runCli(['check', file], { env });
  return { code: j.code, doc: JSON.parse(j.stdout) as Doc, text: t.stdout };
}
const find = (d: Doc, id: string, db: string | null = null) => d.checks.find((c) => c.id === id && c.database === db);

const SHOP = `DROP DATABASE IF EXISTS ck_shop; CREATE DATABASE ck_shop CHARACTER SET utf8mb4;
  CREATE TABLE ck_shop.items (id int PRIMARY KEY, name varchar(50)) ENGINE=InnoDB;
  INSERT INTO ck_shop.items VALUES (1, 'a'), (2, 'b');`;

beforeAll(async () => {
  // Statement-based binlog with a minimal row image, and the same server_id as the target.
  bad = await startMariadb({ serverId: m2.serverId, flags: ['--binlog-format=STATEMENT', '--binlog-row-image=MINIMAL'] });
  nobin = await startMariadb({ serverId: 31, noBinlog: true });
  for (const s of [m1, bad, nobin]) await myQuery(s, SHOP);
  await myQuery(m2, 'DROP DATABASE IF EXISTS ck_shop; DROP DATABASE IF EXISTS dbferry');
});

afterAll(async () => {
  await Promise.all([stopMariadb(bad), stopMariadb(nobin)]);
  await myQuery(m1, "DROP DATABASE IF EXISTS ck_shop; DROP USER IF EXISTS 'ck_weak'@'%'");
  await myQuery(m2, 'DROP DATABASE IF EXISTS ck_shop; DROP DATABASE IF EXISTS dbferry');
});

describe('MySQL check', () => {
  it('a good pair: every check passes and Aiven says Replication', async () => {
    const r = await check(mysqlYaml({ name: 'myck-ok', source: m1, target: m2, include: ['ck_shop'], extra: 'mode: online' }));
    expect(r.code, JSON.stringify(r.doc.checks.filter((c) => c.result !== 'Succeeded'))).toBe(0);
    expect(r.text).toContain('All pre-checks passed successfully, preferred migration method will be [Replication]');
    expect(find(r.doc, 'my.binlog_format')?.result).toBe('Succeeded');
    expect(r.doc.migration).toMatchObject({ error: null, method: 'replication', status: 'done' });
  });

  it('STATEMENT format, MINIMAL row image and the same server_id: auto falls back to dump, replication fails', async () => {
    const auto = await check(mysqlYaml({ name: 'myck-bad', source: bad, target: m2, include: ['ck_shop'], extra: 'mode: online' }));
    expect(auto.code).toBe(0);
    expect(auto.doc.databases[0]).toMatchObject({ dbname: 'ck_shop', method: 'dump' });
    expect(auto.text).toContain('preferred migration method will be [Dump]');
    const repl = await check(
      mysqlYaml({ name: 'myck-bad', source: bad, target: m2, include: ['ck_shop'], extra: 'mode: online\nmethod: replication' }),
    );
    expect(repl.code).toBe(1);
    expect(find(repl.doc, 'my.binlog_format')).toMatchObject({
      result: 'Failed',
      message: 'binlog_format is STATEMENT, replication needs ROW',
    });
    expect(find(repl.doc, 'my.binlog_row_image')).toMatchObject({ result: 'Failed' });
    expect(find(repl.doc, 'my.server_id')).toMatchObject({
      result: 'Failed',
      message: `source and target both have server_id ${m2.serverId}`,
    });
    expect(repl.doc.migration).toMatchObject({ method: '', status: 'done' });
    expect(repl.doc.migration.error).toMatch(/pre-checks failed/);
  });

  it('binary log off', async () => {
    const r = await check(
      mysqlYaml({ name: 'myck-nobin', source: nobin, target: m2, include: ['ck_shop'], extra: 'mode: online\nmethod: replication' }),
    );
    expect(r.code).toBe(1);
    expect(find(r.doc, 'my.log_bin')).toMatchObject({ result: 'Failed', message: 'log_bin is OFF: the source writes no binary log' });
  });

  it('a user without replication privileges', async () => {
    await myQuery(m1, "CREATE USER IF NOT EXISTS 'ck_weak'@'%' IDENTIFIED BY 'weak-pw'; GRANT SELECT ON *.* TO 'ck_weak'@'%'");
    const yaml = mysqlYaml({
      name: 'myck-weak',
      source: { ...m1, user: 'ck_weak' },
      target: m2,
      include: ['ck_shop'],
      extra: 'mode: online\nmethod: replication',
    }).replace('  username: ck_weak', '  username: ck_weak\n  password: ${PW}');
    const r = await check(yaml, { PW: 'weak-pw' });
    expect(r.code).toBe(1);
    expect(find(r.doc, 'my.replication_privileges')?.result).toBe('Failed');
    expect(find(r.doc, 'my.replication_privileges')?.hint).toMatch(/^GRANT REPLICATION SLAVE/);
  });

  it('MyISAM table, table without key, missing DEFINER, non-empty target', async () => {
    await myQuery(
      m1,
      `CREATE TABLE ck_shop.legacy (a int) ENGINE=MyISAM; CREATE DEFINER='ghost'@'%' VIEW ck_shop.v AS SELECT id FROM ck_shop.items`,
    );
    await myQuery(m2, 'CREATE DATABASE IF NOT EXISTS ck_shop; CREATE TABLE IF NOT EXISTS ck_shop.other (id int PRIMARY KEY)');
    try {
      const r = await check(mysqlYaml({ name: 'myck-db', source: m1, target: m2, include: ['ck_shop'], extra: 'mode: online' }));
      expect(r.code).toBe(1);
      expect(find(r.doc, 'my.db.engines', 'ck_shop')).toMatchObject({
        result: 'Warning',
        message: 'non-InnoDB table(s) are not covered by the consistent snapshot: legacy (MyISAM)',
      });
      expect(find(r.doc, 'my.db.primary_keys', 'ck_shop')?.message).toContain('legacy');
      expect(find(r.doc, 'my.db.definers', 'ck_shop')).toMatchObject({ result: 'Warning' });
      expect(find(r.doc, 'my.db.definers', 'ck_shop')?.message).toContain('ghost@%');
      expect(find(r.doc, 'my.db.target_empty', 'ck_shop')?.result).toBe('Failed');
    } finally {
      await myQuery(m1, 'DROP TABLE ck_shop.legacy; DROP VIEW ck_shop.v');
      await myQuery(m2, 'DROP DATABASE IF EXISTS ck_shop');
    }
  });

  it('a wrong password is a failed connectivity check naming the server', async () => {
    const yaml = mysqlYaml({ name: 'myck-pw', source: { ...m1, user: 'ck_weak' }, target: m2, include: ['ck_shop'] }).replace(
      '  username: ck_weak',
      '  username: ck_weak\n  password: ${PW}',
    );
    const r = await check(yaml, { PW: 'Wrong-Marker-77' });
    expect(r.code).toBe(2);
    expect(find(r.doc, 'my.source.connectivity')?.message).toBe(
      `authentication failed for source server ck_weak@127.0.0.1:${m1.port}: wrong user or password`,
    );
    expect(JSON.stringify(r.doc) + r.text).not.toContain('Wrong-Marker-77');
  });
});
