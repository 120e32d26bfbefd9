/**
 * The default verify (no `verify:` key) on real servers: a value changed on the target behind
 * dbferry's back, after the copy and before the verify (a pause point), fails the migration and
 * names the table, with full checksums and with the sampled key ranges of big tables; and
 * `verify: counts`, the explicit opt-out, does not look at values.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, startCli, tempDir, waitForStderr, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'verify_db';

/** Runs apply, pauses before its verify, lets `damage` change the target, then lets it finish. */
async function applyWithDamage(file: string, damage: () => Promise<void>): Promise<{ code: number | null; stderr: string }> {
  const resume = join(tempDir(), 'resume');
  const child = startCli(['apply', file, '--yes'], { env: { DBFERRY_PAUSE_AT: 'before-verify', DBFERRY_RESUME_FILE: resume } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForStderr(child, 'paused at before-verify');
  await damage();
  writeFileSync(resume, '');
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  return { code, stderr };
}

async function resetPgTarget(): Promise<void> {
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

beforeAll(async () => {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(src, `CREATE DATABASE ${DB}`);
  await pgQuery(
    src,
    `CREATE TABLE small (id int PRIMARY KEY, v text, at timestamptz);
     CREATE TABLE big (id bigint PRIMARY KEY, v text);
     INSERT INTO small SELECT g, 'v' || g, now() FROM generate_series(1, 100) g;
     INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;`,
    DB,
  );
  await myQuery(
    m1,
    `DROP DATABASE IF EXISTS ${DB}; CREATE DATABASE ${DB}; USE ${DB};
    CREATE TABLE small (id int PRIMARY KEY, v varchar(20), u UUID);
    INSERT INTO small SELECT seq, CONCAT('v', seq), UUID() FROM seq_1_to_100;
    CREATE TABLE big (id bigint PRIMARY KEY, v text);
    INSERT INTO big SELECT seq, REPEAT('x', 100) FROM seq_1_to_50000;`,
  );
});

afterAll(async () => {
  await resetPgTarget();
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await myQuery(m1, `DROP DATABASE IF EXISTS ${DB}`);
  await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
});

describe('default verify on PostgreSQL', () => {
  it('a changed value in a small table fails the migration and names the table', async () => {
    await resetPgTarget();
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({ name: 'verify-pg', source: src, target: tgt, include: [DB], extra: 'roles:\n  migrate: false' }),
    );
    const r = await applyWithDamage(file, () => pgQuery(tgt, `UPDATE small SET v = 'tampered' WHERE id = 50`, DB).then(() => undefined));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('verify failed for 1 table(s) in "verify_db": public.small (checksum differs)');
    expect(await pgQuery(tgt, `SELECT state FROM dbferry.migrations WHERE name = 'verify-pg'`)).toEqual([{ state: 'Failed' }]);
  });

  it('a big table is checked on sampled key ranges: a change inside one is caught', async () => {
    await resetPgTarget();
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'verify-pg-sample',
        source: src,
        target: tgt,
        include: [DB],
        extra: 'roles:\n  migrate: false\nverifySampleAbove: 256kB',
      }),
    );
    const plan = await runCli(['plan', file]);
    expect(plan.stdout).toMatch(
      /verify row counts of every table \(of the sampled ones: as they load, on both sides\); checksums of every row of 1 table\(s\), and of 32 key ranges covering about 256 kB of public\.big \([\d.]+ MB\)/,
    );
    // The first range always starts at the smallest key.
    const r = await applyWithDamage(file, () => pgQuery(tgt, `UPDATE big SET v = 'tampered' WHERE id = 1`, DB).then(() => undefined));
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/public\.big \(checksum of the rows in 32 sampled key ranges differs\)/);
  });

  it('verify: counts, the opt-out, checks row counts only', async () => {
    await resetPgTarget();
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({ name: 'verify-pg-counts', source: src, target: tgt, include: [DB], extra: 'roles:\n  migrate: false\nverify: counts' }),
    );
    const r = await applyWithDamage(file, () =>
      pgQuery(tgt, `UPDATE small SET v = 'tampered' WHERE id = 50`, DB).then(() => undefined),
    ).catch((e: unknown) => ({ code: -1, stderr: String(e) }));
    // No verify of values runs, so there is no pause before it: the run ends on its own, unchecked.
    expect(r.stderr).toContain('never printed "paused at before-verify"');
    expect(await pgQuery(tgt, `SELECT state FROM dbferry.migrations WHERE name = 'verify-pg-counts'`)).toEqual([{ state: 'Succeeded' }]);
  });
});

describe('default verify on MariaDB', () => {
  it('a changed value fails the migration and names the table, in full and on sampled key ranges', async () => {
    for (const [name, table, extra] of [
      ['verify-my', 'small', ''],
      ['verify-my-sample', 'big', 'verifySampleAbove: 256kB'],
    ] as const) {
      await myQuery(m2, `DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS dbferry`);
      const file = writeFile(tempDir(), 'migration.yaml', mysqlYaml({ name, source: m1, target: m2, include: [DB], extra }));
      const r = await applyWithDamage(file, () =>
        myQuery(m2, `UPDATE ${DB}.${table} SET v = 'tampered' WHERE id = 1`).then(() => undefined),
      );
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`verify failed for 1 table(s) in "${DB}": ${table} (`);
    }
  });
});
