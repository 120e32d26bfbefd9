/** A marker password given through YAML, env and URI never appears anywhere; watch and SIGINT. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pgQuery, pgYaml, runCli, spawnCli, startCli, tempDir, writeFile } from '../setup/cli.js';

const servers = inject('servers');
const src = servers.pg['15'] ?? Object.values(servers.pg)[0]!;
const tgt = servers.pg['17'] ?? Object.values(servers.pg)[1]!;
const MARKER = 'zq-Marker-Secret-7781';

beforeAll(async () => {
  await pgQuery(src, 'DROP DATABASE IF EXISTS sec_db');
  await pgQuery(src, 'CREATE DATABASE sec_db');
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
});
afterAll(async () => {
  await pgQuery(src, 'DROP DATABASE IF EXISTS sec_db');
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
});

function variants(dir: string): { label: string; file: string; env: Record<string, string> }[] {
  const base = pgYaml({ name: 'sec-mig', source: src, target: tgt, include: ['sec_db'] });
  const inYaml = base.replace(/(source:\n(?:.*\n)*?  username: postgres)/, `$1\n  password: ${MARKER}`);
  const inEnv = base.replace(/(source:\n(?:.*\n)*?  username: postgres)/, '$1\n  password: ${SRC_PW}');
  const inUri = base.replace(
    /source:\n  host: .*\n  port: .*\n  username: postgres\n/,
    `source:\n  uri: postgres://postgres:${MARKER}@${src.host}:${src.port}/postgres\n`,
  );
  return [
    { label: 'yaml', file: writeFile(dir, 'yaml.yaml', inYaml), env: {} },
    { label: 'env', file: writeFile(dir, 'env.yaml', inEnv), env: { SRC_PW: MARKER } },
    { label: 'uri', file: writeFile(dir, 'uri.yaml', inUri), env: {} },
    { label: 'PGPASSWORD', file: writeFile(dir, 'pgpw.yaml', base), env: { PGPASSWORD: MARKER } },
  ];
}

describe('secrets never leak', () => {
  it('through every command, success and failure paths, files and state tables', async () => {
    const dir = tempDir();
    let runs = 0;
    for (const v of variants(dir)) {
      const commands = [
        ['validate', v.file],
        ['plan', v.file, '--offline'],
        ['plan', v.file, '--json'],
        ['plan', v.file, '--out', join(dir, `plan-${v.label}.json`)],
        ['apply', v.file, '--yes'],
        ['apply', v.file, '--yes', '--json'],
        ['status', v.file, '--json'],
        ['list', v.file],
        ['check', v.file],
        ['cutover', v.file],
        ['cancel', v.file],
        ['validate', v.file, '--verbose'],
      ];
      for (const args of commands) {
        const r = await runCli(args, { env: v.env, cwd: dir });
        runs++;
        expect(r.stdout, `${v.label} ${args.join(' ')}`).not.toContain(MARKER);
        expect(r.stderr, `${v.label} ${args.join(' ')}`).not.toContain(MARKER);
      }
      // A failing connection, which makes the driver build an error message.
      const broken = readFileSync(v.file, 'utf8').replace(String(tgt.port), '1');
      const bf = writeFile(dir, `broken-${v.label}.yaml`, broken);
      for (const args of [
        ['plan', bf],
        ['apply', bf, '--yes'],
        ['status', bf],
      ]) {
        const r = await runCli(args, { env: v.env, cwd: dir });
        expect(r.code).toBe(2);
        expect(r.stdout + r.stderr).not.toContain(MARKER);
      }
    }
    expect(runs).toBeGreaterThanOrEqual(40);
    for (const f of readdirSync(dir)) {
      if (f.startsWith('plan-')) expect(readFileSync(join(dir, f), 'utf8')).not.toContain(MARKER);
    }
    const state = await pgQuery<{ dump: string }>(
      tgt,
      `SELECT (SELECT json_agg(m)::text FROM dbferry.migrations m) || (SELECT coalesce(json_agg(d)::text, '') FROM dbferry.databases d) AS dump`,
    );
    expect(state[0]?.dump).toContain('sec-mig');
    expect(state[0]?.dump).not.toContain(MARKER);
  });
});

describe('child processes', () => {
  it('pg_dump: the marker is in no `ps` output while it runs, its .pgpass is private (0600) and removed afterwards', async () => {
    const dir = tempDir();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const log = join(dir, 'ps.log');
    // A pg_dump that records what `ps` shows of every process (itself and dbferry included) while it runs.
    writeFileSync(
      join(bin, 'pg_dump'),
      [
        '#!/bin/bash',
        `{ echo "== parent $(tr '\\0' ' ' < /proc/$PPID/cmdline)"; echo "== ps"; ps -eo pid,args; if [ -n "$PGPASSFILE" ]; then echo "== pgpass $(stat -c '%a' "$PGPASSFILE") $PGPASSFILE"; fi; } >> '${log}'`,
        `exec /usr/lib/postgresql/15/bin/pg_dump "$@"`,
      ].join('\n'),
      { mode: 0o755 },
    );
    let dumps = 0;
    for (const v of variants(dir)) {
      await pgQuery(tgt, 'DROP DATABASE IF EXISTS sec_db');
      await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
      writeFileSync(log, '');
      // The real binary, so that pg_dump's parent is a dbferry process of its own.
      const r = await spawnCli(['apply', v.file, '--yes', '--pgbin', bin], { env: v.env, cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const seen = readFileSync(log, 'utf8');
      const runs = seen.split('== ps').length - 1;
      expect(runs, v.label).toBeGreaterThanOrEqual(2);
      dumps += runs;
      // pg_dump's parent is dbferry itself; its command line is read from /proc/$PPID.
      const parents = [...seen.matchAll(/== parent (.*)/g)].map((m) => m[1] ?? '');
      expect(parents.length, v.label).toBe(runs);
      for (const p of parents) expect(p, v.label).toMatch(/dbferry\.js apply /);
      expect(seen, v.label).not.toContain(MARKER);
      const pgpass = [...seen.matchAll(/== pgpass (\d+) (.+)/g)];
      expect(pgpass.length, v.label).toBeGreaterThanOrEqual(2);
      for (const m of pgpass) {
        expect(m[1]).toBe('600');
        expect(existsSync(m[2] as string), `${m[2]} removed`).toBe(false);
      }
    }
    expect(dumps).toBeGreaterThanOrEqual(8);
  });
});

describe('plan --watch and signals (real binary)', () => {
  it('re-plans on save, reports errors without exiting, and exits 130 on SIGINT', async () => {
    const dir = tempDir();
    const file = writeFile(dir, 'migration.yaml', pgYaml({ name: 'watch-one', source: src, target: tgt, include: ['sec_db'] }));
    const child = startCli(['plan', '--offline', '--watch', file], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const until = async (pred: () => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(() => stdout.includes('migration "watch-one"') && stderr.includes('Watching'), 'first plan');
    writeFileSync(file, readFileSync(file, 'utf8').replace('watch-one', 'watch-two'));
    await until(() => stdout.includes('migration "watch-two"'), 're-plan');
    writeFileSync(file, readFileSync(file, 'utf8').replace('name: watch-two', 'name: watch-two\nbogus: 1'));
    await until(() => stderr.includes('unknown key "bogus"'), 'error report');
    const code = await new Promise<number | null>((res) => {
      child.on('exit', (c) => res(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(130);
  });
});
