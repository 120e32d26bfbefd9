/**
 * The GitHub Actions workflow shipped in examples/ci runs the dbferry commands below on every pull
 * request and merge; this test runs exactly those commands (read from the workflow file, with the
 * built CLI in place of `npx dbferry`) against real servers, in the order of the jobs. It also
 * keeps the Markdown plan, a pull-request comment, as a checked-in sample: a change in the output
 * is a reviewed diff.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { BIN, pgQuery, ROOT, runCli, tempDir } from '../setup/cli.js';

const run = promisify(execFile);
const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;

interface Step {
  run?: string;
}

/** The dbferry command lines of a job, in order. */
function dbferrySteps(job: string): string[] {
  const wf = parse(readFileSync(join(ROOT, 'examples', 'ci', 'dbferry.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
  return (wf.jobs[job]?.steps ?? []).map((s) => s.run ?? '').filter((r) => /(^|\s)npx --yes dbferry /.test(r));
}

beforeAll(async () => {
  await pgQuery(src, 'DROP DATABASE IF EXISTS ci_db');
  await pgQuery(src, 'CREATE DATABASE ci_db');
  await pgQuery(
    src,
    `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g`,
    'ci_db',
  );
  await pgQuery(tgt, 'DROP DATABASE IF EXISTS ci_db WITH (FORCE)');
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
});
afterAll(async () => {
  await pgQuery(tgt, 'DROP DATABASE IF EXISTS ci_db WITH (FORCE)');
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  await pgQuery(src, 'DROP DATABASE IF EXISTS ci_db');
});

describe('examples/ci/dbferry.yml', () => {
  it('the review job and then the apply job succeed with the commands the workflow runs', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'migration.yaml'),
      [
        'name: ci-demo',
        'source:',
        `  host: ${src.host}`,
        `  port: ${src.port}`,
        `  username: ${src.user}`,
        '  password: ${SOURCE_PASSWORD}',
        '  ssl: disable',
        'target:',
        `  host: ${tgt.host}`,
        `  port: ${tgt.port}`,
        `  username: ${tgt.user}`,
        '  password: ${TARGET_PASSWORD}',
        '  ssl: disable',
        'databases:',
        '  include: [ci_db]',
        'roles:',
        '  migrate: false',
        '',
      ].join('\n'),
    );
    const review = dbferrySteps('review');
    const apply = dbferrySteps('apply');
    expect(review.length).toBeGreaterThanOrEqual(3);
    expect(apply.length).toBeGreaterThanOrEqual(3);
    for (const [job, lines] of [
      ['review', review],
      ['apply', apply],
    ] as const) {
      for (const line of lines) {
        const cmd = line.replace(/npx --yes dbferry/g, `node ${BIN}`);
        // Secrets: empty (the test servers trust local connections); validate runs without them.
        const env = {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          CI: 'true',
          GITHUB_ACTIONS: 'true',
          ...(/validate/.test(line) ? {} : { SOURCE_PASSWORD: '', TARGET_PASSWORD: '' }),
        };
        const r = await run('bash', ['-o', 'pipefail', '-c', cmd], { cwd: dir, env }).catch(
          (e: { code: number; stdout: string; stderr: string }) => e,
        );
        expect((r as { code?: number }).code ?? 0, `${job}: ${line}\n${r.stderr}`).toBe(0);
      }
    }
    const md = readFileSync(join(dir, 'plan.md'), 'utf8');
    expect(md).toMatch(/^### dbferry plan: `ci-demo`/);
    expect(md).toContain('| ci\\_db |');
    const st = await runCli(['status', join(dir, 'migration.yaml'), '--json'], { env: { SOURCE_PASSWORD: '', TARGET_PASSWORD: '' } });
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'Succeeded' });
  });

  it('the Markdown plan of a fixed config matches the checked-in sample', async () => {
    const r = await runCli(['plan', '--offline', '--format', 'markdown', join(ROOT, 'examples', 'pg-online.yaml')], { env: {} });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'test', 'fixtures', 'plan-sample.md'), 'utf8'));
  });

  it('plan --detailed-exitcode: 2 with changes pending; show renders the saved plan without a server', async () => {
    const dir = tempDir();
    const out = join(dir, 'plan.json');
    const r = await runCli(['plan', '--offline', '--detailed-exitcode', '--out', out, join(ROOT, 'examples', 'pg-offline.yaml')], {
      env: {},
    });
    expect(r.code, r.stderr).toBe(2);
    const md = await runCli(['show', out, '--format', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('### dbferry plan: `orders-to-new-cluster`');
    const gh = await runCli(['validate', '--format', 'github', join(ROOT, 'examples', 'pg-offline.yaml')], { env: {} });
    expect(gh.stdout).toMatch(/^::warning file=.*pg-offline\.yaml,line=10,col=13::environment variable SOURCE_PASSWORD is not set/m);
  });
});
