/**
 * Interruption loses nothing: `kill -9` at every phase of a PostgreSQL dump migration, then
 * `apply` again ends with source and target equal; SIGINT exits 130 and resumes; a second
 * concurrent apply is refused; verify names a table that differs.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription, dataHashes } from '../setup/compare.js';
import { pgQuery, pgYaml, runCli, spawnCli, startCli, tempDir, waitForStderr, writeFile } from '../setup/cli.js';
import { seededPick } from '../setup/seeded.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const DB = 'resume_db';

async function resetTarget(): Promise<void> {
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  await pgQuery(tgt, 'DROP ROLE IF EXISTS resume_app');
}

function config(name: string, extra = ''): string {
  return writeFile(
    tempDir(),
    'migration.yaml',
    pgYaml({ name, source: src, target: tgt, include: [DB], extra: `copy:\n  jobs: 2\nverify: checksums\n${extra}` }),
  );
}

async function expectEqual(): Promise<void> {
  expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
  const a = await catalogDescription(src, DB, false);
  const b = (await catalogDescription(tgt, DB, false)).map((l) => l.replace(/=arwdDxtm\//g, '=arwdDxt/'));
  expect(b).toEqual(a);
}

beforeAll(async () => {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(
    src,
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'resume_app') THEN CREATE ROLE resume_app; END IF; END $$`,
  );
  await pgQuery(src, `CREATE DATABASE ${DB}`);
  const ddl: string[] = [
    'CREATE TABLE parent (id int PRIMARY KEY, name text UNIQUE)',
    'INSERT INTO parent SELECT g, $$p$$ || g FROM generate_series(1, 2000) g',
  ];
  for (let i = 1; i <= 8; i++) {
    ddl.push(
      `CREATE TABLE t${i} (id bigserial PRIMARY KEY, parent_id int REFERENCES parent(id), v text, n numeric, at timestamptz DEFAULT now())`,
    );
    ddl.push(`CREATE INDEX t${i}_v ON t${i} (v)`);
    ddl.push(
      `INSERT INTO t${i} (parent_id, v, n) SELECT 1 + g % 2000, md5(g::text), g / 7.0 FROM generate_series(1, ${i === 1 ? 60000 : 3000 * i}) g`,
    );
  }
  ddl.push('CREATE MATERIALIZED VIEW mv AS SELECT parent_id, count(*) AS n FROM t1 GROUP BY parent_id');
  ddl.push('CREATE UNIQUE INDEX mv_pk ON mv (parent_id)');
  ddl.push('ALTER TABLE t2 OWNER TO resume_app');
  ddl.push(`SELECT lo_from_bytea(777, convert_to(repeat('x', 3000000), 'UTF8'))`);
  ddl.push('ANALYZE');
  await pgQuery(src, ddl.join(';\n'), DB);
});

afterAll(async () => {
  await resetTarget();
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
});

/** 10 kill points drawn from every crash point of the dump method (seed DBFERRY_KILL_SEED, default 266: it reaches every phase but the last); all of them under DBFERRY_STRESS. */
function killPoints(): string[] {
  const candidates = [
    'after:roles',
    'after:create-database',
    'mid-schema',
    'after:schema-pre-data',
    'mid-copy',
    ...Array.from({ length: 9 }, (_, i) => `after-table-${i + 1}`),
    'after:copy-data',
    'mid-post-data',
    'after:schema-post-data',
    'after:analyze',
  ];
  return process.env.DBFERRY_STRESS ? candidates : seededPick(candidates, 10, Number(process.env.DBFERRY_KILL_SEED ?? 266));
}

describe('kill -9 at 10 seeded-random points, then apply again', () => {
  const points = killPoints();
  for (const point of points) {
    it(`crash ${point}: the re-run resumes and source and target are equal`, async () => {
      await resetTarget();
      const file = config(`resume-${point.replace(/:/g, '-')}`);
      const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: point } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const state = await pgQuery<{ state: string }>(tgt, 'SELECT state FROM dbferry.migrations');
      expect(state).toEqual([{ state: 'InProgress' }]);
      const again = await runCli(['apply', file, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(`Resumed migration "resume-${point.replace(/:/g, '-')}"`);
      await expectEqual();
      expect(await pgQuery(tgt, `SELECT state, substate FROM dbferry.migrations`)).toEqual([{ state: 'Succeeded', substate: 'Completed' }]);
    });
  }
});

describe('signals and concurrency', () => {
  it('SIGINT exits 130 and leaves a resumable migration; a concurrent apply is refused', async () => {
    await resetTarget();
    const file = config('resume-sigint');
    const child = startCli(['apply', file, '--yes'], { env: { DBFERRY_PAUSE_AT: 'after:schema-pre-data' } });
    await waitForStderr(child, 'paused at after:schema-pre-data');
    const second = await runCli(['apply', file, '--yes']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another dbferry process is applying migration "resume-sigint"');
    const code = await new Promise<number | null>((res) => {
      child.on('exit', (c) => res(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(130);
    expect(await pgQuery(tgt, 'SELECT state, error FROM dbferry.migrations')).toEqual([
      { state: 'InProgress', error: 'interrupted; run `dbferry apply` again to resume' },
    ]);
    const again = await runCli(['apply', file, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    await expectEqual();
  });

  it('verify names the table that differs, and the migration fails', async () => {
    await resetTarget();
    const file = config('resume-verify');
    const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: 'after:copy-data' } });
    expect(crashed.signal).toBe('SIGKILL');
    await pgQuery(tgt, `UPDATE t3 SET v = 'tampered' WHERE id = 5`, DB);
    const again = await runCli(['apply', file, '--yes']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`verify failed for 1 table(s) in "${DB}": public.t3 (checksum differs)`);
    const st = await runCli(['status', file, '--json']);
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'Failed', databases: [{ status: 'failed' }] });
  });
});
