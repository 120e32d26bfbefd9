/**
 * Server faults during a copy: a dbferry connection killed on the server (pg_terminate_backend /
 * KILL, the victim chosen by a seeded generator), and the source server restarted mid-copy. Each
 * time the run fails with a one-paragraph message naming the server, and `apply` again ends with
 * source and target equal. (Restarts during replication are in test/integration/pg-online.)
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDescription, dataHashes } from '../setup/compare.js';
import { myQuery, mysqlYaml, pgQuery, pgYaml, runCli, startCli, tempDir, writeFile } from '../setup/cli.js';
import { restartPostgres, type MariaServer } from '../setup/servers.js';
import { prng } from '../setup/seeded.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const [m1, m2] = servers.mariadb as [MariaServer, MariaServer];
const DB = 'fault_db';
const rnd = prng(Number(process.env.DBFERRY_FAULT_SEED ?? 4242));

type Child = ReturnType<typeof startCli>;

function collect(child: Child): { out: () => string; exit: Promise<number | null> } {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  return { out: () => text, exit: new Promise((res) => child.on('exit', (c) => res(c))) };
}

/** Polls `find` until it returns something (the fault's victim), or fails when the child exits first. */
async function waitFor<T>(child: Child, find: () => Promise<T[]>, what: string): Promise<T[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = await find();
    if (found.length) return found;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function expectCleanFailure(code: number | null, out: string, server: string): void {
  expect(code, out).toBe(1);
  expect(out).toContain(server);
  expect(out).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
}

describe('PostgreSQL', () => {
  const file = (name: string): string =>
    writeFile(
      tempDir(),
      'migration.yaml',
      pgYaml({ name, source: src, target: tgt, include: [DB], extra: 'copy:\n  jobs: 2\nverify: checksums' }),
    );
  const reset = async (): Promise<void> => {
    await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
  };
  const expectEqual = async (): Promise<void> => {
    expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
    expect(await catalogDescription(tgt, DB, false)).toEqual(await catalogDescription(src, DB, false));
  };
  const copying = (s: typeof src, app: string) => () =>
    pgQuery<{ pid: number }>(
      s,
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE 'COPY %big%' ORDER BY pid`,
      'postgres',
      [app],
    );

  beforeAll(async () => {
    await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
    await pgQuery(src, `CREATE DATABASE ${DB}`);
    await pgQuery(
      src,
      `CREATE TABLE big (id bigint PRIMARY KEY, v text, n numeric, at timestamptz);
       INSERT INTO big SELECT g, repeat(md5(g::text), 4), g / 3.0, '2024-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 250000) g;
       CREATE TABLE small (id int PRIMARY KEY, b bytea); INSERT INTO small SELECT g, decode(md5(g::text), 'hex') FROM generate_series(1, 1000) g;
       ANALYZE`,
      DB,
    );
  });
  afterAll(async () => {
    await reset();
    await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  });

  for (const side of ['source', 'target'] as const) {
    it(`pg_terminate_backend of a ${side} copy connection: a clear failure, then apply resumes and ends equal`, async () => {
      await reset();
      const f = file(`fault-kill-${side}`);
      const child = startCli(['apply', f, '--yes']);
      const run = collect(child);
      const server = side === 'source' ? src : tgt;
      const victims = await waitFor(child, copying(server, side === 'source' ? 'dbferry-copy' : 'dbferry-load'), `a ${side} COPY`);
      const victim = victims[Math.floor(rnd() * victims.length)] as { pid: number };
      await pgQuery(server, 'SELECT pg_terminate_backend($1)', 'postgres', [victim.pid]);
      expectCleanFailure(await run.exit, run.out(), `the connection to the ${side} server`);
      expect(run.out()).toContain('finished tables are not copied again');
      const again = await runCli(['apply', f, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      await expectEqual();
    });
  }

  it('the source restarted mid-copy: a clear failure, then apply resumes and ends equal', async () => {
    await reset();
    const f = file('fault-restart');
    const child = startCli(['apply', f, '--yes']);
    const run = collect(child);
    await waitFor(child, copying(src, 'dbferry-copy'), 'a source COPY');
    await restartPostgres(src);
    expectCleanFailure(await run.exit, run.out(), 'the connection to the source server');
    const again = await runCli(['apply', f, '--yes']);
    expect(again.code, again.stderr).toBe(0);
    await expectEqual();
  });
});

describe('MySQL', () => {
  const MDB = 'fault_my';
  const file = (name: string): string =>
    writeFile(
      tempDir(),
      'migration.yaml',
      mysqlYaml({ name, source: m1, target: m2, include: [MDB], extra: 'copy:\n  jobs: 2\nverify: checksums' }),
    );
  const sums = async (s: MariaServer): Promise<unknown[]> => myQuery(s, `CHECKSUM TABLE ${MDB}.big, ${MDB}.small EXTENDED`);

  beforeAll(async () => {
    await myQuery(
      m1,
      `DROP DATABASE IF EXISTS ${MDB}; CREATE DATABASE ${MDB}; USE ${MDB};
       CREATE TABLE big (id int PRIMARY KEY, v varchar(200), n decimal(20,6));
       INSERT INTO big SELECT seq, repeat(md5(seq), 4), seq / 3 FROM seq_1_to_400000;
       CREATE TABLE small (id int PRIMARY KEY, b varbinary(16)); INSERT INTO small SELECT seq, unhex(md5(seq)) FROM seq_1_to_1000;`,
    );
    await myQuery(m2, `DROP DATABASE IF EXISTS ${MDB}; DROP DATABASE IF EXISTS dbferry`);
  });
  afterAll(async () => {
    await myQuery(m1, `DROP DATABASE IF EXISTS ${MDB}`);
    await myQuery(m2, `DROP DATABASE IF EXISTS ${MDB}; DROP DATABASE IF EXISTS dbferry`);
  });

  for (const side of ['source', 'target'] as const) {
    it(`KILL of a ${side} copy connection: a clear failure, then apply copies again and ends equal`, async () => {
      await myQuery(m2, `DROP DATABASE IF EXISTS ${MDB}; DROP DATABASE IF EXISTS dbferry`);
      const f = file(`fault-my-${side}`);
      const child = startCli(['apply', f, '--yes']);
      const run = collect(child);
      const server = side === 'source' ? m1 : m2;
      const pattern = side === 'source' ? `SELECT %FROM \`${MDB}\`.\`big\`%` : 'LOAD DATA%`big`%';
      const victims = await waitFor(
        child,
        () =>
          myQuery<{ id: number }>(
            server,
            `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID() ORDER BY ID`,
            [pattern],
          ),
        `a ${side} copy statement`,
      );
      const victim = victims[Math.floor(rnd() * victims.length)] as { id: number };
      await myQuery(server, `KILL ${victim.id}`);
      expectCleanFailure(await run.exit, run.out(), `${side} server`);
      expect(run.out()).toContain('the database is copied again from the start');
      const again = await runCli(['apply', f, '--yes']);
      expect(again.code, again.stderr).toBe(0);
      expect(await sums(m2)).toEqual(await sums(m1));
    });
  }
});
