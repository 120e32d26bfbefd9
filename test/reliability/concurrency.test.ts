/**
 * Exit codes: 1 when refused because another process holds the migration, 2 when the request
 * conflicts with the state of the target (another migration owns the database, name taken).
 * Concurrency: two `apply` of one migration started at the same instant, and two different
 * migrations of one target database (one paused mid-copy, and both at the same instant): exactly
 * one runs, the other is refused with a clear message, and the target ends equal to the source.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription, dataHashes } from '../setup/compare.js';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, spawnCli, startCli, tempDir, waitForStderr, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'conc_db';

const REFUSED =
  /another dbferry process is applying migration|was registered by another dbferry process at the same moment|is already being migrated by active migration|already exists on the target .*migration names are unique|target database "conc_db" exists with|target database "conc_db" is not empty any more/;

async function resetPg(): Promise<void> {
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

async function expectPgEqual(): Promise<void> {
  expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
  expect(await catalogDescription(tgt, DB, false)).toEqual(await catalogDescription(src, DB, false));
}

const pgFile = (name: string): string =>
  writeFile(tempDir(), 'migration.yaml', pgYaml({ name, source: src, target: tgt, include: [DB], extra: 'copy:\n  jobs: 2' }));

beforeAll(async () => {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(src, `CREATE DATABASE ${DB}`);
  await pgQuery(
    src,
    'CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 50000) g; CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b SELECT generate_series(1, 100)',
    DB,
  );
  await myQuery(
    m1,
    `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}; CREATE TABLE ${DB}.a (id int PRIMARY KEY, v varchar(40)); INSERT INTO ${DB}.a SELECT seq, md5(seq) FROM ${DB}.seq_1_to_50000`,
  );
});
afterAll(async () => {
  await resetPg();
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}`);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
});

describe('PostgreSQL', () => {
  it('two apply of one migration at the same instant: exactly one runs', async () => {
    await resetPg();
    const file = pgFile('conc-same');
    const results = await Promise.all([spawnCli(['apply', file, '--yes']), spawnCli(['apply', file, '--yes'])]);
    expect(
      results.filter((r) => r.code === 0),
      results.map((r) => r.stderr).join('\n---\n'),
    ).toHaveLength(1);
    const refused = results.find((r) => r.code !== 0);
    expect([1, 2]).toContain(refused?.code);
    expect(refused?.stderr).toMatch(REFUSED);
    await expectPgEqual();
  });

  it('a second migration of a database another one is copying is refused, and changes nothing', async () => {
    await resetPg();
    const first = startCli(['apply', pgFile('conc-first'), '--yes'], { env: { DBFERRY_PAUSE_AT: 'after:schema-pre-data' } });
    await waitForStderr(first, 'paused at after:schema-pre-data');
    const second = await runCli(['apply', pgFile('conc-second'), '--yes']);
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain(`database "${DB}" is already being migrated by active migration "conc-first"`);
    const code = await new Promise<number | null>((res) => {
      first.on('exit', (c) => res(c));
      first.kill('SIGINT');
    });
    expect(code).toBe(130);
    expect((await runCli(['apply', pgFile('conc-first'), '--yes'])).code).toBe(0);
    await expectPgEqual();
    expect(await pgQuery(tgt, 'SELECT name, state FROM dbferry.migrations ORDER BY 1')).toEqual([
      { name: 'conc-first', state: 'Succeeded' },
    ]);
  });

  it('two different migrations of one database at the same instant: exactly one runs', async () => {
    await resetPg();
    const results = await Promise.all([spawnCli(['apply', pgFile('conc-x'), '--yes']), spawnCli(['apply', pgFile('conc-y'), '--yes'])]);
    expect(
      results.filter((r) => r.code === 0),
      results.map((r) => r.stderr).join('\n---\n'),
    ).toHaveLength(1);
    expect(results.find((r) => r.code !== 0)?.stderr).toMatch(REFUSED);
    await expectPgEqual();
  });
});

describe('MySQL', () => {
  it('two different migrations of one database at the same instant: exactly one runs', async () => {
    await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
    const file = (name: string): string =>
      writeFile(tempDir(), 'migration.yaml', mysqlYaml({ name, source: m1, target: m2, include: [DB] }));
    const results = await Promise.all([spawnCli(['apply', file('conc-my-x'), '--yes']), spawnCli(['apply', file('conc-my-y'), '--yes'])]);
    expect(
      results.filter((r) => r.code === 0),
      results.map((r) => r.stderr).join('\n---\n'),
    ).toHaveLength(1);
    expect(results.find((r) => r.code !== 0)?.stderr).toMatch(REFUSED);
    const sums = async (s: MariaServer): Promise<unknown> => myQuery(s, `CHECKSUM TABLE ${DB}.a EXTENDED`);
    expect(await sums(m2)).toEqual(await sums(m1));
  });
});
