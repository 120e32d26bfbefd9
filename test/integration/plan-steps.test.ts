/**
 * The plan is the program: the step ids `plan --json` prints are exactly those `apply --json`
 * executes, on both engines, offline and online (with cutover: true, so apply runs the cutover
 * steps too); and a resumed apply skips exactly the steps the interrupted one recorded.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, spawnCli, tempDir, writeFile } from '../setup/cli.js';
import type { MariaServer } from '../setup/servers.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];

interface PlanJson {
  steps: { id: string; runBy: string; database: string | null; after: string[] }[];
}
interface ApplyJson {
  state: string;
  steps: { id: string; state: 'done' | 'skipped' }[];
}

const sorted = (xs: string[]): string[] => [...xs].sort();

async function planAndApply(file: string): Promise<{ planned: string[]; applied: ApplyJson }> {
  const plan = await runCli(['plan', file, '--json']);
  expect(plan.code, plan.stderr).toBe(0);
  const steps = (JSON.parse(plan.stdout) as PlanJson).steps;
  // Every dependency names a step of the plan.
  for (const s of steps) for (const a of s.after) expect(steps.map((x) => x.id)).toContain(a);
  const apply = await runCli(['apply', file, '--yes', '--json']);
  expect(apply.code, apply.stderr).toBe(0);
  return { planned: steps.filter((s) => s.runBy === 'apply').map((s) => s.id), applied: JSON.parse(apply.stdout) as ApplyJson };
}

async function pgSource(db: string): Promise<void> {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${db}`);
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await pgQuery(src, `CREATE DATABASE ${db}`);
  await pgQuery(
    src,
    `CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT g, md5(g::text) FROM generate_series(1, 2000) g;
     CREATE TABLE b (id bigserial PRIMARY KEY, a_id int REFERENCES a(id)); INSERT INTO b (a_id) SELECT g FROM generate_series(1, 500) g;
     CREATE TABLE keyless (x int); INSERT INTO keyless VALUES (1), (2);`,
    db,
  );
}

async function mySource(db: string): Promise<void> {
  await myQuery(m2, `DROP DATABASE IF EXISTS ${db}`);
  await myQuery(
    m1,
    `DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}; USE ${db};
     CREATE TABLE a (id int PRIMARY KEY, v varchar(40)); INSERT INTO a SELECT seq, md5(seq) FROM seq_1_to_2000;
     CREATE VIEW av AS SELECT id FROM a WHERE id < 10;`,
  );
}

afterAll(async () => {
  for (const db of ['steps_pg_off', 'steps_pg_on', 'steps_pg_resume']) {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  }
  for (const db of ['steps_my_off', 'steps_my_on']) {
    await myQuery(m1, `DROP DATABASE IF EXISTS ${db}`);
    await myQuery(m2, `DROP DATABASE IF EXISTS ${db}`);
  }
});

describe('apply executes exactly the plan', () => {
  const dir = tempDir();
  it('PostgreSQL offline', async () => {
    await pgSource('steps_pg_off');
    const file = writeFile(dir, 'pg-off.yaml', pgYaml({ name: 'steps-pg-off', source: src, target: tgt, include: ['steps_pg_off'] }));
    const { planned, applied } = await planAndApply(file);
    expect(planned).toEqual(expect.arrayContaining(['steps_pg_off:snapshot', 'steps_pg_off:copy-data', 'steps_pg_off:verify', 'roles']));
    expect(sorted(applied.steps.map((s) => s.id))).toEqual(sorted(planned));
    expect(applied.steps.every((s) => s.state === 'done')).toBe(true);
  });

  it('PostgreSQL online with cutover: true', async () => {
    await pgSource('steps_pg_on');
    const extra = 'mode: online\nmethod: replication\ncutover: true\nroles:\n  migrate: false';
    const file = writeFile(dir, 'pg-on.yaml', pgYaml({ name: 'steps-pg-on', source: src, target: tgt, include: ['steps_pg_on'], extra }));
    const { planned, applied } = await planAndApply(file);
    expect(planned).toEqual(expect.arrayContaining(['steps_pg_on:slot-snapshot', 'steps_pg_on:subscription', 'steps_pg_on:cutover']));
    expect(sorted(applied.steps.map((s) => s.id))).toEqual(sorted(planned));
    expect(applied.state).toBe('Succeeded');
  });

  it('MySQL offline', async () => {
    await mySource('steps_my_off');
    const file = writeFile(dir, 'my-off.yaml', mysqlYaml({ name: 'steps-my-off', source: m1, target: m2, include: ['steps_my_off'] }));
    const { planned, applied } = await planAndApply(file);
    expect(planned).toEqual(expect.arrayContaining(['steps_my_off:schema-objects', 'steps_my_off:verify']));
    expect(sorted(applied.steps.map((s) => s.id))).toEqual(sorted(planned));
  });

  it('MySQL online with cutover: true', async () => {
    await mySource('steps_my_on');
    const extra = 'mode: online\nmethod: replication\ncutover: true\nreplication:\n  maxLag: 5s';
    const file = writeFile(dir, 'my-on.yaml', mysqlYaml({ name: 'steps-my-on', source: m1, target: m2, include: ['steps_my_on'], extra }));
    const { planned, applied } = await planAndApply(file);
    expect(planned).toEqual(expect.arrayContaining(['replica', 'cutover', 'steps_my_on:copy-data']));
    expect(sorted(applied.steps.map((s) => s.id))).toEqual(sorted(planned));
    expect(applied.state).toBe('Succeeded');
    expect(await myQuery(m2, 'SHOW SLAVE STATUS')).toEqual([]);
  });

  it('a resumed apply skips the steps the interrupted run recorded, and runs the rest', async () => {
    await pgSource('steps_pg_resume');
    const file = writeFile(
      dir,
      'pg-resume.yaml',
      pgYaml({ name: 'steps-pg-resume', source: src, target: tgt, include: ['steps_pg_resume'] }),
    );
    const crashed = await spawnCli(['apply', file, '--yes'], { env: { DBFERRY_CRASH_AT: 'after:copy-data' } });
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    const again = await runCli(['apply', file, '--yes', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const steps = (JSON.parse(again.stdout) as ApplyJson).steps;
    const skipped = steps.filter((s) => s.state === 'skipped').map((s) => s.id);
    expect(sorted(skipped)).toEqual(
      sorted(['roles', 'steps_pg_resume:create-database', 'steps_pg_resume:schema-pre-data', 'steps_pg_resume:copy-data']),
    );
    expect(steps.filter((s) => s.state === 'done').map((s) => s.id)).toEqual(
      expect.arrayContaining(['steps_pg_resume:snapshot', 'steps_pg_resume:schema-post-data', 'steps_pg_resume:verify']),
    );
  });
});
