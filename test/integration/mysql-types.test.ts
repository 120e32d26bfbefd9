/**
 * Every MariaDB 10.11 column type with edge values, through `apply` with default settings, compared
 * per column (a hash of every value's bytes, in key order) on both sides; the target server runs in
 * another time zone. A copy that changes values (LOAD DATA turns conversion errors into warnings)
 * must fail, never succeed.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'my_types';
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex');

const FIXTURE = `
SET NAMES utf8mb4; SET SESSION sql_mode = ''; SET SESSION time_zone = '-08:00';
DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB} CHARACTER SET utf8mb4; USE ${DB};
CREATE TABLE t (
  id INT PRIMARY KEY,
  u UUID, i4 INET4, i6 INET6,
  g GEOMETRY, pt POINT, ls LINESTRING, pg POLYGON, mpt MULTIPOINT, mls MULTILINESTRING, mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION,
  b1 BIT(1), b7 BIT(7), b64 BIT(64),
  st SET('a', 'b c', 'd''e "q"', ''), en ENUM('x', 'y z', 'tab\\there', '\\\\back', 'ü ☃', ''),
  j JSON, d65 DECIMAL(65,30), du DECIMAL(10,2) UNSIGNED, yr YEAR, tm TIME(6), dt DATETIME(6), ts TIMESTAMP(6) NULL, dd DATE, dz DATETIME,
  bin VARBINARY(300), fixed BINARY(4), blb LONGBLOB, txt TEXT CHARACTER SET utf8mb4, lat VARCHAR(20) CHARACTER SET latin1, ch CHAR(3),
  f FLOAT, dbl DOUBLE, ti TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, bi BIGINT, bu BIGINT UNSIGNED, bo BOOLEAN,
  gen INT AS (id * 2) VIRTUAL, gens VARCHAR(20) AS (CONCAT('g', id)) STORED, inv INT INVISIBLE DEFAULT 7
);
INSERT INTO t (id, u, i4, i6, g, pt, ls, pg, mpt, mls, mpg, gc, b1, b7, b64, st, en, j, d65, du, yr, tm, dt, ts, dd, dz, bin, fixed, blb, txt, lat, ch, f, dbl, ti, si, mi, bi, bu, bo, inv) VALUES
 (1, '123e4567-e89b-12d3-a456-426614174000', '192.168.0.1', '2001:db8::ff00:42:8329',
  ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-1.5 2e10)'), ST_GeomFromText('LINESTRING(0 0,1 1,2 2)'), ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'),
  ST_GeomFromText('MULTIPOINT(0 0,1 1)'), ST_GeomFromText('MULTILINESTRING((0 0,1 1),(2 2,3 3))'), ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)))'),
  ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))'),
  b'1', b'1010101', b'1111111111111111111111111111111111111111111111111111111111111111',
  'a,b c,d''e "q"', 'tab\\there', '{"a": [1, 2.5, "x\\\\u00e9"], "b": null, "ü": "☃"}',
  '12345678901234567890123456789012345.123456789012345678901234567890', 99999999.99, 2155, '-838:59:59.000000', '9999-12-31 23:59:59.999999',
  '2038-01-19 03:14:07.999999', '2020-02-29', '0000-00-00 00:00:00',
  UNHEX('${ALL_BYTES}'), UNHEX('00000000'), UNHEX(REPEAT('${ALL_BYTES}', 40)), 'ünï 😀 𝄞 中文 \\\\ tab\\t nl\\n cr\\r', 'café', 'ab ',
  -0.0, 1.7976931348623157e308, 255, -32768, -8388608, -9223372036854775808, 18446744073709551615, TRUE, 8),
 (2, '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  b'0', b'0', b'0', '', '', 'null', '-0.000000000000000000000000000001', 0, 1901, '838:59:59.999999', '1000-01-01 00:00:00',
  '1970-01-01 08:00:01', '1000-01-01', '2020-00-15 00:00:00', '', '', '', '', '', '',
  3.40282e38, -2.2250738585072014e-308, 0, 32767, 8388607, 9223372036854775807, 0, FALSE, 0),
 (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255', '::ffff:1.2.3.4', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-00:00:00.000001', NULL, '2024-06-30 23:59:59.5', '0000-00-00', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO t (id, u, i6, txt, ts) SELECT 100 + seq, UUID(), CONCAT('fe80::', HEX(seq)), REPEAT('ü', seq % 50), FROM_UNIXTIME(1700000000 + seq * 3600) FROM seq_1_to_2000;
`;

/** Every column of every base table: a hash of each value's bytes in key order, read in UTC. */
async function columnHashes(s: MariaServer): Promise<Record<string, string>> {
  const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user });
  try {
    await c.query("SET SESSION time_zone = '+00:00', group_concat_max_len = 1073741824");
    const [cols] = (await c.query(
      `SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, ORDINAL_POSITION`,
      [DB],
    )) as unknown as [{ t: string; c: string }[]];
    const out: Record<string, string> = {};
    for (const { t, c: col } of cols) {
      const [[r]] = (await c.query(
        `SELECT COUNT(*) AS n, SHA2(GROUP_CONCAT(IFNULL(HEX(CAST(\`${col}\` AS BINARY)), 'NULL') ORDER BY id SEPARATOR ','), 256) AS h FROM ${DB}.\`${t}\``,
      )) as unknown as [[{ n: number; h: string }]];
      out[`${t}.${col}`] = `${r.n}:${r.h}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await myQuery(m1, FIXTURE);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry; SET GLOBAL time_zone = '+05:30'`);
});
afterAll(async () => {
  await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}`);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry; SET GLOBAL time_zone = 'SYSTEM'`);
});

describe('MariaDB column types', () => {
  it('the check names the columns loaded through their text form', async () => {
    const file = writeFile(tempDir(), 'migration.yaml', mysqlYaml({ name: 'my-types-check', source: m1, target: m2, include: [DB] }));
    const r = await runCli(['check', file, '--json']);
    const checks = (JSON.parse(r.stdout) as { checks: { id: string; result: string; message: string }[] }).checks;
    expect(checks.find((c) => c.id === 'my.db.column_types')).toMatchObject({
      result: 'Succeeded',
      message: expect.stringContaining('t.u (uuid), t.i4 (inet4), t.i6 (inet6)'),
    });
  });

  it('every column of every type arrives equal, with default settings, into a target in another time zone', async () => {
    const file = writeFile(tempDir(), 'migration.yaml', mysqlYaml({ name: 'my-types', source: m1, target: m2, include: [DB] }));
    const r = await runCli(['apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const a = await columnHashes(m1);
    const b = await columnHashes(m2);
    expect(Object.keys(a).length).toBeGreaterThan(40);
    expect(b).toEqual(a);
  });
});
