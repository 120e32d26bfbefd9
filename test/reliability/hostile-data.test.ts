/**
 * Hostile data, both engines: identifiers with quotes, backslashes, dots, unicode, reserved words
 * and maximum length on every kind of object; values at the edges of every type; a table of
 * 1,000 columns; an empty database; a database of many tables (2,000; 10,000 under
 * DBFERRY_STRESS). After `apply`, schema and data are equal on both sides.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription, dataHashes } from '../setup/compare.js';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const MANY = process.env.DBFERRY_STRESS ? 10_000 : 2_000;
/** Creating and copying 10,000 tables (twice 10,000 CREATE TABLE on MariaDB) takes minutes. */
const TIMEOUT = process.env.DBFERRY_STRESS ? 1_800_000 : 180_000;

/** A PostgreSQL identifier of exactly 63 bytes made of multi-byte, quote and backslash characters. */
const LONG = `q"\\.ü  ${'ß'.repeat(27)}x`;
const PG_DBS = ['hostile "db".\\ü', 'empty_db', 'many_tables'];
const pgi = (s: string): string => `"${s.replace(/"/g, '""')}"`;

const PG_FIXTURE = `
CREATE SCHEMA ${pgi(LONG)};
CREATE SCHEMA "select";
CREATE TYPE ${pgi(LONG)}.${pgi(`e'"\\`)} AS ENUM ('', ' ', 'quote''s', 'back\\slash', 'ü☃😀', 'a.b');
CREATE TABLE ${pgi(LONG)}.${pgi(LONG)} (
  ${pgi(LONG)} int PRIMARY KEY,
  "select" ${pgi(LONG)}.${pgi(`e'"\\`)},
  "a.b" text,
  "Case" text,
  "case" text
);
CREATE INDEX ${pgi(`${LONG.slice(0, -1)}i`)} ON ${pgi(LONG)}.${pgi(LONG)} ("a.b", "Case");
CREATE SEQUENCE "select"."seq ""q"" \\";
CREATE VIEW "select"."view.v" AS SELECT ${pgi(LONG)} AS "from", "select" FROM ${pgi(LONG)}.${pgi(LONG)};
CREATE FUNCTION "select"."f(""x"")"("in" int) RETURNS int LANGUAGE sql AS $f$ SELECT "in" + 1 $f$;
INSERT INTO ${pgi(LONG)}.${pgi(LONG)} VALUES (1, '', 'x', 'UPPER', 'lower'), (2, 'quote''s', NULL, '', NULL), (3, 'back\\slash', E'\\\\', E'tab\\tnewline\\n', 'ü☃😀'), (4, 'a.b', '', ' ', '\\N');
SELECT setval('"select"."seq ""q"" \\"', 42);

CREATE TABLE "select".edges (
  id int PRIMARY KEY,
  i2 smallint, i4 int, i8 bigint,
  num numeric, nsc numeric(1000, 500),
  r real, d double precision,
  t text, vc varchar(3), c char(2),
  b bytea, bo boolean,
  da date, ts timestamp, tz timestamptz, ti time, ttz timetz, iv interval,
  j jsonb, js json, u uuid, a int[], ta text[], o oid, ch "char", lsn pg_lsn, bits varbit
);
INSERT INTO "select".edges VALUES
  (1, -32768, -2147483648, -9223372036854775808, 'NaN', 0, '-Infinity', '-Infinity', '', '', '', '', false,
   '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '00:00', '00:00+15:59', '-178000000 years',
   '{}', '{"a": 1, "a": 2}', '00000000-0000-0000-0000-000000000000', '{}', '{}', 0, '', '0/0', B''),
  (2, 32767, 2147483647, 9223372036854775807, 'Infinity', 0.${'9'.repeat(500)}, 'Infinity', 'Infinity', repeat('ü☃😀', 100000), 'abc', 'xy', (SELECT string_agg(set_byte('\\x00'::bytea, 0, g), ''::bytea) FROM generate_series(0, 255) g), true,
   '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', '24:00', '24:00-15:59', '178000000 years',
   '{"deep": [[[[[[[[[[{"k": "ü ☃ \\" \\\\ end"}]]]]]]]]]]}', '[1, 2.50, "x"]', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[0:2]={1,NULL,3}', '{"", NULL, "NULL", "a\\"b", "c,d", "{}"}', 4294967295, 'z', 'FFFFFFFF/FFFFFFFF', B'1'),
  (3, 0, 0, 0, '-0.000000000000000000000000000001', -0.${'0'.repeat(499)}1, '-0', '4.9e-324', E'\\\\x00 \\\\ \\' "', ' ', ' ', '\\x00'::bytea, NULL,
   '2000-02-29', '1970-01-01', '1970-01-01 00:00:00+14', '23:59:59.999999', '00:00:00+00', '1 mon -1 days 00:00:00.000001',
   'null', 'null', NULL, '{{1,2},{3,4}}', '{{"a"},{"b"}}', NULL, NULL, NULL, NULL),
  (4, ${'NULL, '.repeat(26)}NULL);

CREATE TABLE "select".wide (id int PRIMARY KEY, ${Array.from({ length: 999 }, (_, i) => `${pgi(`c${i} "${i % 10}"`)} ${['int', 'text', 'numeric', 'boolean'][i % 4]}`).join(', ')});
INSERT INTO "select".wide (id, ${pgi('c0 "0"')}, ${pgi('c1 "1"')}, ${pgi('c997 "7"')}) SELECT g, g, 'v' || g, CASE WHEN g % 2 = 0 THEN 'x' END FROM generate_series(1, 200) g;
ANALYZE;
`;

async function dropPg(): Promise<void> {
  for (const s of [src, tgt]) for (const d of PG_DBS) await pgQuery(s, `DROP DATABASE IF EXISTS ${pgi(d)} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

describe('PostgreSQL hostile data', () => {
  afterAll(dropPg);

  it(
    `odd identifiers everywhere, edge values of every type, 1,000 columns, an empty database and ${MANY.toLocaleString('en-US')} tables: equal after apply`,
    async () => {
      await dropPg();
      await pgQuery(src, `CREATE DATABASE ${pgi(PG_DBS[0]!)}`);
      await pgQuery(src, PG_FIXTURE, PG_DBS[0]);
      await pgQuery(src, 'CREATE DATABASE empty_db');
      await pgQuery(src, 'CREATE DATABASE many_tables');
      await pgQuery(
        src,
        `DO $$ BEGIN FOR i IN 1..${MANY} LOOP EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text); INSERT INTO %I VALUES (%s, %L)', 't' || i, 't' || i, i, 'row ' || i); IF i % 500 = 0 THEN COMMIT; END IF; END LOOP; END $$`,
        'many_tables',
      );
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        pgYaml({ name: 'hostile-pg', source: src, target: tgt, include: PG_DBS, extra: `copy:\n  jobs: 2\nverify: checksums` }),
      );
      const r = await runCli(['apply', file, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      for (const d of PG_DBS) {
        expect(await dataHashes(tgt, d), d).toEqual(await dataHashes(src, d));
        expect(await catalogDescription(tgt, d, false), d).toEqual(await catalogDescription(src, d, false));
      }
      expect(Object.keys(await dataHashes(tgt, 'many_tables'))).toHaveLength(MANY);
      expect(await dataHashes(tgt, 'empty_db')).toEqual({});
    },
    TIMEOUT,
  );
});

/** MySQL identifiers: 64 characters, with backticks, quotes, backslashes, dots and unicode. */
const MY_LONG = `b\`q"\\.ü ${'ß'.repeat(55)}x`;
const myi = (s: string): string => `\`${s.replace(/`/g, '``')}\``;
const MY_DBS = ['hostile `my` "db" ü', 'my_empty', 'my_many'];
const MY_MANY = process.env.DBFERRY_STRESS ? 10_000 : 500;

async function dropMy(): Promise<void> {
  for (const s of [m1, m2]) for (const d of MY_DBS) await myQuery(s, `DROP DATABASE IF EXISTS ${myi(d)}`);
  await myQuery(m2, 'DROP DATABASE IF EXISTS dbferry');
}

async function myState(s: MariaServer, db: string): Promise<string[]> {
  const out: string[] = [];
  for (const { t, k } of await myQuery<{ t: string; k: string }>(
    s,
    `SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1`,
    [db],
  )) {
    const q = `${myi(db)}.${myi(t)}`;
    if (k === 'VIEW') {
      out.push(`view ${t}`);
      continue;
    }
    const [sum] = await myQuery<{ Checksum: string }>(s, `CHECKSUM TABLE ${q} EXTENDED`);
    const [ddl] = await myQuery<Record<string, string>>(s, `SHOW CREATE TABLE ${q}`);
    out.push(`${t}:${sum?.Checksum}:${String(ddl?.['Create Table']).replace(/ AUTO_INCREMENT=\d+/, '')}`);
  }
  return out;
}

describe('MySQL hostile data', () => {
  afterAll(dropMy);

  it(
    `odd identifiers, edge values of every type, 1,000 columns, an empty database and ${MY_MANY.toLocaleString('en-US')} tables: equal after apply`,
    async () => {
      await dropMy();
      const db = myi(MY_DBS[0]!);
      await myQuery(
        m1,
        `SET time_zone = '+00:00'; CREATE DATABASE ${db} CHARACTER SET utf8mb4; USE ${db};
       CREATE TABLE ${myi(MY_LONG)} (${myi(MY_LONG)} int PRIMARY KEY, \`select\` varchar(20), \`a.b\` text, KEY ${myi(MY_LONG)} (\`select\`)) ENGINE=InnoDB;
       INSERT INTO ${myi(MY_LONG)} VALUES (1, '', NULL), (2, 'quote''s', 'back\\\\slash'), (3, 'ü☃😀', 'tab\\tnl\\n'), (4, '\\\\N', '\\0nul');
       CREATE VIEW \`v.w "x"\` AS SELECT \`select\` FROM ${myi(MY_LONG)};
       CREATE TABLE edges (
         id int PRIMARY KEY, ti tinyint, tu tinyint unsigned, si smallint, mi mediumint, i int, iu int unsigned, bi bigint, bu bigint unsigned,
         de decimal(65,30), fl float, do double, bt bit(64), da date, dt datetime(6), ts timestamp(6) NULL, tm time(6), yr year,
         ch char(3), vc varchar(5), tx longtext, bl longblob, vb varbinary(300), js json, en enum('', 'a', 'ü'), st set('x', 'y')
       ) ENGINE=InnoDB;
       INSERT INTO edges VALUES
         (1, -128, 0, -32768, -8388608, -2147483648, 0, -9223372036854775808, 0, -99999999999999999999999999999999999.999999999999999999999999999999, -3.40282e38, -1.7976931348623157e308, b'0',
          '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '-838:59:59.000000', 1901, '', '', '', '', '', '{}', '', ''),
         (2, 127, 255, 32767, 8388607, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615, 99999999999999999999999999999999999.999999999999999999999999999999, 3.40282e38, 1.7976931348623157e308, b'1111111111111111111111111111111111111111111111111111111111111111',
          '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59.000000', 2155, 'ü☃😀', 'ü☃😀', repeat('ü☃😀', 100000), repeat(unhex('00FF5C0A0D09275C22'), 100000), unhex(repeat('00FF', 150)), '{"a": [1, 2.5, null], "ü": "\\\\u0000"}', 'ü', 'x,y'),
         (3, 0, 0, 0, 0, 0, 0, 0, 0, -0.000000000000000000000000000001, -0, 2.2250738585072014e-308, NULL, NULL, NULL, NULL, '00:00:00', 0, ' ', ' ', '\\\\', unhex('00'), NULL, 'null', 'a', ''),
         (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
       CREATE TABLE wide (id int PRIMARY KEY, ${Array.from({ length: 999 }, (_, i) => `${myi(`c${i} \`${i % 10}`)} ${i % 3 === 0 ? 'int' : i % 3 === 1 ? 'tinyint' : 'smallint'}`).join(', ')}) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;
       INSERT INTO wide (id, ${myi('c0 `0')}, ${myi('c998 `8')}) SELECT seq, seq, seq % 100 FROM seq_1_to_300;
       CREATE DATABASE my_empty; CREATE DATABASE my_many;`,
      );
      const stmts: string[] = [];
      for (let i = 1; i <= MY_MANY; i++)
        stmts.push(`CREATE TABLE my_many.t${i} (id int PRIMARY KEY, v varchar(20)); INSERT INTO my_many.t${i} VALUES (${i}, 'row ${i}');`);
      for (let i = 0; i < stmts.length; i += 500) await myQuery(m1, stmts.slice(i, i + 500).join('\n'));
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        mysqlYaml({ name: 'hostile-my', source: m1, target: m2, include: MY_DBS, extra: 'copy:\n  jobs: 2\nverify: checksums' }),
      );
      const r = await runCli(['apply', file, '--yes']);
      expect(r.code, r.stderr).toBe(0);
      for (const d of MY_DBS.slice(0, 2)) expect(await myState(m2, d), d).toEqual(await myState(m1, d));
      const count = async (s: MariaServer): Promise<unknown> =>
        (await myQuery<{ n: number }>(s, `SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'my_many'`))[0]?.n;
      expect(await count(m2)).toBe(MY_MANY);
      const sample = [1, Math.ceil(MY_MANY / 2), MY_MANY].map((i) => `my_many.t${i}`).join(', ');
      expect(await myQuery(m2, `CHECKSUM TABLE ${sample} EXTENDED`)).toEqual(await myQuery(m1, `CHECKSUM TABLE ${sample} EXTENDED`));
    },
    TIMEOUT,
  );
});
