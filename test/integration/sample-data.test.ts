/**
 * Databases dbferry's authors did not write: pagila (PostgreSQL) and sakila (MariaDB), read from
 * ../shared/sample-data (never copied into the project). Skipped, with a message, when absent.
 * pagila goes to a managed-style target (objects owned by postgres) and, same major, to a
 * superuser target compared by a normalised schema dump; sakila is compared column by column.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription, dataHashes, schemaDump } from '../setup/compare.js';
import { myQuery, mysqlYaml, pgQuery, pgYaml, ROOT, runCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer, PgServer } from '../setup/servers.js';

const run = promisify(execFile);
const SAMPLES = join(ROOT, '..', 'shared', 'sample-data');
const present =
  existsSync(join(SAMPLES, 'pagila', 'pagila-schema.sql')) && existsSync(join(SAMPLES, 'sakila', 'sakila-schema-mariadb.sql'));
if (!present) console.warn(`sample-data suite skipped: ${SAMPLES} is absent`);
const servers = inject('servers');

async function psqlFile(s: PgServer, db: string, file: string): Promise<void> {
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', s.host, '-p', String(s.port), '-U', s.user, '-d', db, '-f', file], {
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function mariaFile(s: MariaServer, file: string): Promise<void> {
  await run('bash', ['-c', `mariadb --no-defaults -h ${s.host} -P ${s.port} -u ${s.user} < '${file}'`], { maxBuffer: 64 * 1024 * 1024 });
}

async function resetPg(t: PgServer): Promise<void> {
  await pgQuery(t, 'DROP DATABASE IF EXISTS pagila WITH (FORCE)');
  await pgQuery(t, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  await pgQuery(t, 'DROP DATABASE IF EXISTS defaultdb WITH (FORCE)');
  // Whatever else the admin came to own or be granted (memberships, privileges) goes with it.
  if ((await pgQuery(t, `SELECT 1 FROM pg_roles WHERE rolname = 'pagila_admin'`)).length)
    await pgQuery(t, 'DROP OWNED BY pagila_admin CASCADE');
  await pgQuery(t, 'DROP ROLE IF EXISTS pagila_admin');
}

describe.skipIf(!present)('pagila (PostgreSQL sample database)', () => {
  const src = servers.pg['15']!;
  beforeAll(async () => {
    await pgQuery(src, 'DROP DATABASE IF EXISTS pagila');
    await pgQuery(src, 'CREATE DATABASE pagila');
    await psqlFile(src, 'pagila', join(SAMPLES, 'pagila', 'pagila-schema.sql'));
    await psqlFile(src, 'pagila', join(SAMPLES, 'pagila', 'pagila-data.sql'));
  });
  afterAll(async () => {
    await pgQuery(src, 'DROP DATABASE IF EXISTS pagila');
  });

  it('15 -> 17, a managed-style target user: default settings, every row equal, objects owned by postgres given to the target user', async () => {
    const tgt = servers.pg['17']!;
    await resetPg(tgt);
    await pgQuery(tgt, 'CREATE ROLE pagila_admin LOGIN CREATEDB CREATEROLE');
    await pgQuery(tgt, 'CREATE DATABASE defaultdb OWNER pagila_admin');
    try {
      const yaml = pgYaml({ name: 'pagila-managed', source: src, target: { ...tgt, user: 'pagila_admin' }, include: ['pagila'] }).replace(
        'username: pagila_admin',
        'username: pagila_admin\n  dbname: defaultdb',
      );
      const r = await runCli(['apply', writeFile(tempDir(), 'migration.yaml', yaml), '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/owned by the target user instead: .*\(postgres\)/);
      const a = await dataHashes(src, 'pagila');
      expect(Object.keys(a).length).toBeGreaterThan(20);
      expect(await dataHashes(tgt, 'pagila')).toEqual(a);
      // Same objects; the owner postgres became the target user.
      const norm = (lines: string[]) =>
        lines
          .map((l) =>
            l
              .replace(/owner=(postgres|pagila_admin|pg_database_owner)/g, 'owner=X')
              .replace(/(postgres|pagila_admin|pg_database_owner)/g, 'X'),
          )
          .filter((l) => !/^con .* NOT NULL/.test(l));
      expect(norm(await catalogDescription(tgt, 'pagila', false)).filter((l) => !l.startsWith('ext '))).toEqual(
        norm(await catalogDescription(src, 'pagila', false)).filter((l) => !l.startsWith('ext ')),
      );
    } finally {
      await resetPg(tgt);
    }
  });

  it('15 -> 15, superuser target: the normalised schema dump and every row are equal', async () => {
    const { startPostgres, stopPostgres } = await import('../setup/servers.js');
    const tgt = await startPostgres({ major: 15 });
    try {
      const r = await runCli([
        'apply',
        writeFile(tempDir(), 'migration.yaml', pgYaml({ name: 'pagila-15', source: src, target: tgt, include: ['pagila'] })),
        '--yes',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(await dataHashes(tgt, 'pagila')).toEqual(await dataHashes(src, 'pagila'));
      expect(await schemaDump(tgt, 'pagila')).toBe(await schemaDump(src, 'pagila'));
    } finally {
      await stopPostgres(tgt);
    }
  });
});

/** Every column of every sakila table: a hash of each value's bytes in primary key order. */
async function sakilaColumns(s: MariaServer): Promise<Record<string, string>> {
  const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user });
  try {
    await c.query("SET SESSION time_zone = '+00:00', group_concat_max_len = 1073741824");
    const [cols] = (await c.query(
      `SELECT c.TABLE_NAME AS t, c.COLUMN_NAME AS c, (SELECT GROUP_CONCAT(CONCAT('\`', k.COLUMN_NAME, '\`') ORDER BY k.ORDINAL_POSITION) FROM information_schema.KEY_COLUMN_USAGE k
          WHERE k.TABLE_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME AND k.CONSTRAINT_NAME = 'PRIMARY') AS pk
         FROM information_schema.COLUMNS c JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
        WHERE c.TABLE_SCHEMA = 'sakila' ORDER BY 1, c.ORDINAL_POSITION`,
    )) as unknown as [{ t: string; c: string; pk: string }[]];
    const out: Record<string, string> = {};
    for (const { t, c: col, pk } of cols) {
      const [[r]] = (await c.query(
        `SELECT COUNT(*) AS n, SHA2(GROUP_CONCAT(IFNULL(HEX(CAST(\`${col}\` AS BINARY)), 'NULL') ORDER BY ${pk} SEPARATOR ','), 256) AS h FROM sakila.\`${t}\``,
      )) as unknown as [[{ n: number; h: string }]];
      out[`${t}.${col}`] = `${r.n}:${r.h}`;
    }
    return out;
  } finally {
    await c.end();
  }
}

describe.skipIf(!present)('sakila (MariaDB sample database)', () => {
  const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
  beforeAll(async () => {
    await myQuery(m1, 'DROP DATABASE IF EXISTS sakila');
    await mariaFile(m1, join(SAMPLES, 'sakila', 'sakila-schema-mariadb.sql'));
    await mariaFile(m1, join(SAMPLES, 'sakila', 'sakila-data-mariadb.sql'));
    await myQuery(m2, 'DROP DATABASE IF EXISTS sakila; DROP DATABASE IF EXISTS dbferry');
  });
  afterAll(async () => {
    await myQuery(m1, 'DROP DATABASE IF EXISTS sakila');
    await myQuery(m2, 'DROP DATABASE IF EXISTS sakila; DROP DATABASE IF EXISTS dbferry');
  });

  it('default settings: every column of every table equal, views, routines and triggers there', async () => {
    const r = await runCli([
      'apply',
      writeFile(tempDir(), 'migration.yaml', mysqlYaml({ name: 'sakila', source: m1, target: m2, include: ['sakila'] })),
      '--yes',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const a = await sakilaColumns(m1);
    expect(Object.keys(a).length).toBeGreaterThan(80);
    expect(await sakilaColumns(m2)).toEqual(a);
    const objects = (s: MariaServer) =>
      myQuery<{ k: string; n: string }>(
        s,
        `SELECT 'view' AS k, TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'sakila'
         UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'sakila'
         UNION ALL SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'sakila' ORDER BY 1, 2`,
      );
    expect(await objects(m2)).toEqual(await objects(m1));
  });
});
