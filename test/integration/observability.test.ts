/**
 * Prometheus metrics of a real run, scraped with a plain HTTP client: during the copy (paused after
 * its first table) and while `apply --wait` follows replication, the values move as the migration
 * does.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pgQuery, pgYaml, runCli, startCli, tempDir, writeFile } from '../setup/cli.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const DB = 'metrics_db';

/** The value of one sample of the exposition text (all labels given must match). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function until<T>(what: string, get: () => Promise<T | undefined>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 60_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await get();
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} never happened (last: ${JSON.stringify(last)})`);
}

beforeAll(async () => {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(src, `CREATE DATABASE ${DB}`);
  await pgQuery(
    src,
    `CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY, v text); CREATE TABLE c (id int PRIMARY KEY, v text);
     INSERT INTO a SELECT g, repeat('a', 100) FROM generate_series(1, 20000) g; INSERT INTO b SELECT g, 'b' FROM generate_series(1, 1000) g;
     INSERT INTO c SELECT g, 'c' FROM generate_series(1, 100) g;`,
    DB,
  );
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
});

afterAll(async () => {
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
});

describe('--metrics-addr', () => {
  it('apply --wait serves /metrics whose values follow the copy and the replication', async () => {
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'metrics-online',
        source: src,
        target: tgt,
        include: [DB],
        extra: 'mode: online\nmethod: replication\nroles:\n  migrate: false\ncopy:\n  jobs: 1',
      }),
    );
    const resume = join(tempDir(), 'resume');
    const child = startCli(['apply', file, '--yes', '--wait', '--metrics-addr', '127.0.0.1:0'], {
      env: { DBFERRY_PAUSE_AT: 'after-table-1', DBFERRY_RESUME_FILE: resume },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const url = await until(
        'the metrics address',
        async () => /Serving Prometheus metrics at (http:\/\/\S+)/.exec(stderr)?.[1],
        () => true,
      );
      const scrape = async () => (await fetch(url)).text();
      await until(
        'the pause after the first table',
        async () => stderr,
        (s) => s.includes('paused at after-table-1'),
      );
      const during = await scrape();
      const l = { migration: 'metrics-online', database: DB };
      expect(sample(during, 'dbferry_up', {}) ?? Number(/^dbferry_up (\d)/m.exec(during)?.[1])).toBe(1);
      expect(sample(during, 'dbferry_migration_state', { state: 'InProgress', substate: 'MigratingData' })).toBe(1);
      expect(sample(during, 'dbferry_tables', l)).toBe(3);
      expect(sample(during, 'dbferry_tables_copied', l)).toBe(1);
      expect(sample(during, 'dbferry_database_status', { ...l, status: 'running' })).toBe(1);
      expect(during).toContain('# TYPE dbferry_replication_changes_applied_total counter');
      writeFileSync(resume, '');
      await until(
        'replication being followed',
        async () => stderr,
        (s) => s.includes('Following replication'),
      );
      await pgQuery(src, `INSERT INTO c SELECT g, 'new' FROM generate_series(1001, 1010) g`, DB);
      const later = await until(
        'ten replicated inserts counted',
        scrape,
        (t) => (sample(t, 'dbferry_replication_changes_applied_total', { ...l, operation: 'insert' }) ?? 0) >= 10,
      );
      expect(sample(later, 'dbferry_migration_state', { state: 'InProgress', substate: 'WaitingForCutoverTrigger' })).toBe(1);
      expect(sample(later, 'dbferry_tables_copied', l)).toBe(3);
      expect(sample(later, 'dbferry_database_status', { ...l, status: 'syncing' })).toBe(1);
      expect(sample(later, 'dbferry_replication_lag_bytes', l)).toBeGreaterThanOrEqual(0);
      expect(sample(later, 'dbferry_replication_last_heard_seconds', l)).toBeLessThan(60);
      expect(sample(later, 'dbferry_copied_bytes', l)).toBeGreaterThan(0);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.on('exit', r));
    }
    const cancel = await runCli(['cancel', file]);
    expect(cancel.code, cancel.stderr).toBe(0);
  });

  it('a bad address is a usage error (exit 2)', async () => {
    const file = writeFile(tempDir(), 'migration.yaml', pgYaml({ name: 'metrics-bad', source: src, target: tgt, include: [DB] }));
    const r = await runCli(['status', file, '--watch', '--metrics-addr', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--metrics-addr must be HOST:PORT');
  });
});

describe('--log-format json', () => {
  it('every stderr line of a real apply is one JSON event with the documented fields, and no secret; a config error too', async () => {
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    const marker = 'Json-Log-Secret-91';
    await pgQuery(
      src,
      `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dbferry_pw') THEN CREATE ROLE dbferry_pw LOGIN; END IF; END $$; SET password_encryption = 'scram-sha-256'; ALTER ROLE dbferry_pw SUPERUSER PASSWORD '${marker}'`,
    );
    try {
      const yaml = pgYaml({
        name: 'json-logs',
        source: { ...src, user: 'dbferry_pw' },
        target: tgt,
        include: [DB],
        extra: 'roles:\n  migrate: false',
      }).replace('username: dbferry_pw', 'username: dbferry_pw\n  password: ${SPW}');
      const file = writeFile(tempDir(), 'migration.yaml', yaml);
      const r = await runCli(['--log-format', 'json', 'apply', file, '--yes'], { env: { SPW: marker } });
      expect(r.code, r.stderr).toBe(0);
      const events = r.stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.length).toBeGreaterThan(8);
      for (const e of events) {
        expect(typeof e.ts === 'string' && !Number.isNaN(Date.parse(e.ts as string)), JSON.stringify(e)).toBe(true);
        expect(['debug', 'info', 'warn', 'error']).toContain(e.level);
        expect(typeof e.event).toBe('string');
        expect(typeof e.message).toBe('string');
        expect(e.migration).toBe('json-logs');
      }
      const kinds = new Set(events.map((e) => e.event));
      for (const k of ['plan', 'task.started', 'task.completed', 'database.started', 'progress', 'database.completed', 'result'])
        expect(kinds, k).toContain(k);
      const copying = events.find((e) => e.event === 'progress' && typeof e.figures === 'object');
      expect(copying).toMatchObject({ database: DB, figures: { tablesTotal: 3 } });
      expect(events.at(-1)).toMatchObject({ event: 'result', state: 'Succeeded', substate: 'Completed' });
      expect(r.stderr + r.stdout).not.toContain(marker);
      const bad = await runCli([
        '--log-format',
        'json',
        'plan',
        writeFile(tempDir(), 'migration.yaml', 'name: x\nsource:\n  host: a\n  prot: 1\ntarget:\n  host: b\n'),
      ]);
      expect(bad.code).toBe(2);
      const lines = bad.stderr
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.find((e) => e.event === 'diagnostic')).toMatchObject({ level: 'error', line: 4, col: 3 });
      expect(lines.find((e) => e.event === 'error')).toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
    } finally {
      await pgQuery(src, 'ALTER ROLE dbferry_pw NOSUPERUSER');
    }
  });
});

describe('notify.webhooks', () => {
  it('posts each state change to every webhook, retries a failing one, never fails the migration, never prints the URL', async () => {
    const { createServer } = await import('node:http');
    const received: { url: string; body: Record<string, unknown> }[] = [];
    let failFirst = 2;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url?.startsWith('/flaky') && failFirst-- > 0) {
          res.writeHead(503).end();
          return;
        }
        received.push({ url: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
      await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
      const hooks = `notify:\n  webhooks:\n    - http://127.0.0.1:${port}/hook/\${HOOK_TOKEN}\n    - http://127.0.0.1:${port}/flaky\n    - http://127.0.0.1:1/unreachable`;
      const file = writeFile(
        tempDir(),
        'migration.yaml',
        pgYaml({
          name: 'notify-online',
          source: src,
          target: tgt,
          include: [DB],
          extra: `mode: online\nmethod: replication\nroles:\n  migrate: false\n${hooks}`,
        }),
      );
      const env = { HOOK_TOKEN: 'Hook-Token-Secret-7' };
      const applied = await runCli(['apply', file, '--yes'], { env });
      expect(applied.code, applied.stderr).toBe(0);
      const cut = await runCli(['cutover', file], { env });
      expect(cut.code, cut.stderr).toBe(0);
      const events = (path: string) => received.filter((r) => r.url.startsWith(path)).map((r) => r.body.event);
      expect(events('/hook/Hook-Token-Secret-7')).toEqual(['started', 'copied', 'waiting_for_cutover', 'succeeded']);
      // The flaky hook answered 503 twice, then got every event.
      expect(events('/flaky')).toEqual(['started', 'copied', 'waiting_for_cutover', 'succeeded']);
      const last = received.at(-1)?.body ?? {};
      expect(last).toMatchObject({ migration: 'notify-online', state: 'Succeeded', substate: 'Completed' });
      expect(typeof last.text).toBe('string');
      expect(Date.parse(String(last.at))).toBeGreaterThan(0);
      for (const r of [applied, cut]) expect(r.stdout + r.stderr).not.toContain('Hook-Token-Secret-7');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('copy.maxRate', () => {
  it('holds the bytes read from the source to the rate in every interval of the copy, and says it is throttling', async () => {
    await pgQuery(
      src,
      `CREATE TABLE IF NOT EXISTS big (id int PRIMARY KEY, v text); TRUNCATE big; INSERT INTO big SELECT g, repeat('x', 500) FROM generate_series(1, 8000) g`,
      DB,
    );
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    const rate = 1024 * 1024;
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({ name: 'throttled', source: src, target: tgt, include: [DB], extra: 'roles:\n  migrate: false\ncopy:\n  maxRate: 1MB' }),
    );
    const plan = await runCli(['plan', file]);
    expect(plan.stdout).toContain('at most 1.0 MB/s read from the source (copy.maxRate)');
    const r = await runCli(['--log-format', 'json', 'apply', file, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const progress = r.stderr
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            event: string;
            message: string;
            figures?: { bytesCopied: number; bytesTotal: number; elapsed: number; throttledTo: number };
          },
      )
      // While copying (the last event reports the source's size estimate as copied).
      .filter((e) => e.event === 'progress' && e.figures && e.figures.bytesCopied < e.figures.bytesTotal);
    expect(progress.length).toBeGreaterThan(2);
    // Over any stretch from the start: at most one second's burst beyond rate × elapsed.
    // (elapsed is counted from a moment a little after the bucket starts: a quarter second of slack.)
    for (const p of progress) expect(p.figures!.bytesCopied).toBeLessThanOrEqual(rate * (p.figures!.elapsed + 0.25) + rate);
    const last = progress.at(-1)!.figures!;
    expect(last.bytesCopied).toBeGreaterThan(3 * rate);
    expect(progress.some((p) => p.figures!.throttledTo === rate && p.message.includes('(throttled to 1.0 MB/s by copy.maxRate)'))).toBe(
      true,
    );
    await pgQuery(src, 'DROP TABLE big', DB);
  });
});

describe('copy.pauseWhen', () => {
  it('pauses the copy while the source has too many client connections, and goes on when they close', async () => {
    const pg = (await import('pg')).default;
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
    // Other applications' sessions on the source: more than the limit.
    const holders = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = new pg.Client({ host: src.host, port: src.port, user: src.user, database: 'postgres', application_name: 'busy-app' });
        await c.connect();
        return c;
      }),
    );
    const file = writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({
        name: 'paused',
        source: src,
        target: tgt,
        include: [DB],
        extra: 'roles:\n  migrate: false\ncopy:\n  pauseWhen:\n    sourceConnectionsAbove: 2',
      }),
    );
    const plan = await runCli(['plan', file]);
    expect(plan.stdout).toContain('paused while the source has more than 2 client connections (copy.pauseWhen)');
    const child = startCli(['--log-format', 'json', 'apply', file, '--yes']);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(
        'the pause',
        async () => stderr,
        (s) => s.includes('copy paused: '),
      );
      expect(stderr).toMatch(/copy paused: \d+ client connections on the source > 2 \(copy\.pauseWhen\.sourceConnectionsAbove\)/);
      // Paused: nothing of the data arrives while the holders stay.
      expect(await pgQuery(tgt, `SELECT 1 FROM dbferry.tables WHERE migration = 'paused' AND done`)).toEqual([]);
    } finally {
      await Promise.all(holders.map((c) => c.end()));
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('copy resumed');
    const count = `SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) + (SELECT count(*) FROM c) AS n`;
    expect(await pgQuery(tgt, count, DB)).toEqual(await pgQuery(src, count, DB));
  });
});
