/**
 * The CLI in a real terminal (a tmux pane: a TTY on stdin, stdout and stderr), the way a person
 * runs it: Listr2's default renderer, the interactive "yes", Ctrl-C, `status --watch`,
 * `plan --watch` and `npm run demo`. Assertions are on the final screen and on the servers; every
 * wait is for something to appear on the screen, never for an amount of time.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { dataHashes } from '../setup/compare.js';
import { BIN, pgQuery, pgYaml, ROOT, tempDir, writeFile } from '../setup/cli.js';
import { shellQuote, Terminal } from '../setup/terminal.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const DB = 'tty_db';
const dbferry = (args: string): string => `${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args}`;

let open: Terminal[] = [];
async function terminal(command: string, cwd: string, env: Record<string, string> = {}): Promise<Terminal> {
  const t = await Terminal.start(command, { cwd, env });
  open.push(t);
  return t;
}

/** What a broken run would show: a crash report, a stack, or a password. */
function expectCleanScreen(screen: string): void {
  expect(screen).not.toContain('This is a bug in dbferry');
  expect(screen).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/);
  expect(screen).not.toContain('tty-Secret-Marker');
}

async function resetTarget(): Promise<void> {
  // A failed online test must not leave a subscription holding the database.
  for (const { subname } of await pgQuery<{ subname: string }>(tgt, 'SELECT subname FROM pg_subscription')) {
    await pgQuery(
      tgt,
      `ALTER SUBSCRIPTION "${subname}" DISABLE; ALTER SUBSCRIPTION "${subname}" SET (slot_name = NONE); DROP SUBSCRIPTION "${subname}"`,
      DB,
    ).catch(() => undefined);
  }
  for (const { slot_name } of await pgQuery<{ slot_name: string }>(
    src,
    `SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'dbferry%'`,
  )) {
    await pgQuery(src, `SELECT pg_drop_replication_slot('${slot_name}')`).catch(() => undefined);
  }
  await pgQuery(tgt, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await pgQuery(tgt, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
}

function migration(name: string, extra = ''): { dir: string; file: string } {
  const dir = tempDir();
  const file = writeFile(
    dir,
    'migration.yaml',
    pgYaml({ name, source: src, target: tgt, include: [DB], extra: `roles:\n  migrate: false\n${extra}` }),
  );
  return { dir, file };
}

async function migrationState(name: string): Promise<{ state: string; substate: string } | undefined> {
  return (
    await pgQuery<{ state: string; substate: string }>(tgt, 'SELECT state, substate FROM dbferry.migrations WHERE name = $1', 'postgres', [
      name,
    ])
  )[0];
}

beforeAll(async () => {
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
  await pgQuery(src, `CREATE DATABASE ${DB}`);
  await pgQuery(
    src,
    `CREATE TABLE a (id int PRIMARY KEY, v text);
     CREATE TABLE b (id int PRIMARY KEY, v text);
     CREATE TABLE c (id int PRIMARY KEY, v text);
     INSERT INTO a SELECT g, repeat('a', 50) FROM generate_series(1, 20000) g;
     INSERT INTO b SELECT g, repeat('b', 50) FROM generate_series(1, 10000) g;
     INSERT INTO c SELECT g, repeat('c', 50) FROM generate_series(1, 5000) g;`,
    DB,
  );
  await resetTarget();
});

afterEach(async () => {
  await Promise.all(open.map((t) => t.close()));
  open = [];
});

afterAll(async () => {
  await resetTarget();
  await pgQuery(src, `DROP DATABASE IF EXISTS ${DB}`);
});

describe('dbferry in a terminal', () => {
  it('apply asks for "yes", shows the task tree and its result, and the data arrives equal', async () => {
    await resetTarget();
    const { dir } = migration('tty-offline');
    const t = await terminal(dbferry('apply'), dir);
    await t.waitFor('Only "yes" will be accepted');
    await t.type('yes');
    const { code, screen } = await t.finished();
    expect(code, screen).toBe(0);
    expectCleanScreen(screen);
    expect(screen).toMatch(/✔ Registered migration "tty-offline"/);
    expect(screen).toMatch(/✔ Database "tty_db" \(dump\): done/);
    expect(screen).toMatch(/done: 3 table\(s\)/);
    expect(screen).toMatch(/✔ Migration "tty-offline" succeeded/);
    expect(screen).toContain('Migration "tty-offline": Succeeded / Completed');
    expect(await migrationState('tty-offline')).toEqual({ state: 'Succeeded', substate: 'Completed' });
    expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
  });

  it('apply answered with anything but "yes" changes nothing', async () => {
    await resetTarget();
    const { dir } = migration('tty-no');
    const t = await terminal(dbferry('apply'), dir);
    await t.waitFor('Only "yes" will be accepted');
    await t.type('no');
    const { code, screen } = await t.finished();
    expect(code, screen).toBe(1);
    expect(screen).toContain('Apply cancelled; nothing was changed.');
    expect(await pgQuery(tgt, `SELECT 1 FROM pg_database WHERE datname = '${DB}'`)).toEqual([]);
    expect(await pgQuery(tgt, `SELECT 1 FROM pg_namespace WHERE nspname = 'dbferry'`)).toEqual([]);
  });

  it('Ctrl-C at the confirmation exits 130 and changes nothing', async () => {
    await resetTarget();
    const { dir } = migration('tty-ctrlc-prompt');
    const t = await terminal(dbferry('apply'), dir);
    await t.waitFor('Only "yes" will be accepted');
    await t.interrupt();
    const { code, screen } = await t.finished();
    expect(code, screen).toBe(130);
    expectCleanScreen(screen);
    expect(await pgQuery(tgt, `SELECT 1 FROM pg_database WHERE datname = '${DB}'`)).toEqual([]);
  });

  it('apply --yes with a password: the screen never shows it', async () => {
    await resetTarget();
    await pgQuery(src, `DROP ROLE IF EXISTS tty_pw; CREATE ROLE tty_pw LOGIN SUPERUSER PASSWORD 'tty-Secret-Marker'`);
    const dir = tempDir();
    writeFile(
      dir,
      'migration.yaml',
      pgYaml({
        name: 'tty-yes',
        source: { ...src, user: 'tty_pw' },
        target: tgt,
        include: [DB],
        extra: 'roles:\n  migrate: false',
      }).replace(/(source:\n(?:  .*\n)*?  username: tty_pw)/, '$1\n  password: ${SRC_PW}'),
    );
    const t = await terminal(dbferry('apply --yes'), dir, { SRC_PW: 'tty-Secret-Marker' });
    const { code, screen } = await t.finished();
    expect(code, screen).toBe(0);
    expectCleanScreen(screen);
    expect(screen).toMatch(/✔ Migration "tty-yes" succeeded/);
    expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
    await pgQuery(src, 'DROP ROLE tty_pw');
  });

  it('Ctrl-C in the middle of the copy exits 130; apply again resumes and finishes equal', async () => {
    await resetTarget();
    const { dir } = migration('tty-interrupt', 'copy:\n  jobs: 1');
    const t = await terminal(dbferry('apply --yes'), dir, { DBFERRY_PAUSE_AT: 'after-table-1' });
    await t.waitFor('paused at after-table-1');
    await t.interrupt();
    const { code, screen } = await t.finished();
    expect(code, screen).toBe(130);
    expectCleanScreen(screen);
    expect(screen).toContain('interrupted; the migration is left resumable');
    expect(await migrationState('tty-interrupt')).toEqual({ state: 'InProgress', substate: 'MigratingData' });
    const done = await pgQuery<{ n: string }>(tgt, `SELECT count(*) AS n FROM dbferry.tables WHERE migration = 'tty-interrupt' AND done`);
    expect(Number(done[0]?.n)).toBe(1);

    const again = await terminal(dbferry('apply --yes'), dir);
    const second = await again.finished();
    expect(second.code, second.screen).toBe(0);
    expectCleanScreen(second.screen);
    expect(second.screen).toMatch(/✔ Resumed migration "tty-interrupt"/);
    expect(await migrationState('tty-interrupt')).toEqual({ state: 'Succeeded', substate: 'Completed' });
    expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
  });

  it('online: apply, status --watch refreshing until Ctrl-C, then cutover, all in a terminal', async () => {
    await resetTarget();
    const { dir } = migration('tty-online', 'mode: online\nmethod: replication');
    const apply = await terminal(dbferry('apply --yes'), dir);
    const applied = await apply.finished();
    expect(applied.code, applied.screen).toBe(0);
    expectCleanScreen(applied.screen);
    expect(applied.screen).toContain('waiting for `dbferry cutover`');
    expect(await migrationState('tty-online')).toEqual({ state: 'InProgress', substate: 'WaitingForCutoverTrigger' });

    const watch = await terminal(dbferry('status --watch'), dir);
    await watch.waitFor(/tty_db\s+replication\s+syncing/);
    // A change on the source shows up in a later refresh of the same screen.
    await pgQuery(src, `INSERT INTO c SELECT g, 'new' FROM generate_series(100001, 100500) g`, DB);
    await watch.waitFor(/tty_db\s+replication\s+syncing.*\s500\/0\/0/);
    const frames = (await watch.screen()).match(/WaitingForCutoverTrigger/g)?.length ?? 0;
    expect(frames, `the watch redraws in place instead of scrolling:\n${await watch.screen()}`).toBe(1);
    await watch.interrupt();
    const watched = await watch.finished();
    expect(watched.code, watched.screen).toBe(130);
    expectCleanScreen(watched.screen);

    const cut = await terminal(dbferry('cutover'), dir);
    const cutDone = await cut.finished();
    expect(cutDone.code, cutDone.screen).toBe(0);
    expectCleanScreen(cutDone.screen);
    expect(cutDone.screen).toMatch(/✔ Cut over migration "tty-online": done/);
    expect(cutDone.screen).toContain('Migration "tty-online": Succeeded / Completed');
    expect(await migrationState('tty-online')).toEqual({ state: 'Succeeded', substate: 'Completed' });
    expect(await dataHashes(tgt, DB)).toEqual(await dataHashes(src, DB));
    expect(await pgQuery(src, `SELECT slot_name FROM pg_replication_slots`)).toEqual([]);
    expect(await pgQuery(tgt, `SELECT subname FROM pg_subscription`)).toEqual([]);
    await pgQuery(src, 'DELETE FROM c WHERE id > 100000', DB);
  });

  it('validate, plan, check, list and cancel work in a terminal', async () => {
    await resetTarget();
    const { dir } = migration('tty-others', 'mode: online\nmethod: replication');
    for (const command of ['validate', 'plan', 'check']) {
      const t = await terminal(dbferry(command), dir);
      const { code, screen } = await t.finished();
      expect(code, screen).toBe(0);
      expectCleanScreen(screen);
    }
    const applied = await (await terminal(dbferry('apply --yes'), dir)).finished();
    expect(applied.code, applied.screen).toBe(0);
    const list = await (await terminal(dbferry('list'), dir)).finished();
    expect(list.screen).toMatch(/tty-others\s+.*InProgress/);
    const cancel = await (await terminal(dbferry('cancel'), dir)).finished();
    expect(cancel.code, cancel.screen).toBe(0);
    expectCleanScreen(cancel.screen);
    expect(cancel.screen).toMatch(/✔ Cancel migration "tty-others": done/);
    expect(cancel.screen).toContain('Migration "tty-others": Canceled');
    expect(await pgQuery(src, `SELECT slot_name FROM pg_replication_slots`)).toEqual([]);
    expect(await pgQuery(src, `SELECT pubname FROM pg_publication`, DB)).toEqual([]);
    expect(await pgQuery(tgt, `SELECT subname FROM pg_subscription`)).toEqual([]);
  });

  it('plan --watch re-plans in place on every save and ends on Ctrl-C', async () => {
    const { dir, file } = migration('tty-plan');
    const t = await terminal(dbferry('plan --offline --watch'), dir);
    await t.waitFor('Watching migration.yaml for changes');
    writeFileSync(file, (await import('node:fs')).readFileSync(file, 'utf8').replace('name: tty-plan', 'name: tty-plan-renamed'));
    await t.waitFor('migration "tty-plan-renamed"');
    expect(await t.visible(), 'the old plan was cleared from the screen').not.toContain('migration "tty-plan" ');
    await t.interrupt();
    const { code, screen: last } = await t.finished();
    expect(code, last).toBe(130);
    expectCleanScreen(last);
  });

  it('npm run demo succeeds in a terminal and says so', async () => {
    const t = await terminal('npm run demo', ROOT, { DEMO_ROWS: '20000' });
    const { code, screen } = await t.finished(600_000);
    expect(code, screen).toBe(0);
    expectCleanScreen(screen);
    expect(screen).toMatch(/✔ Migration "shop-to-pg17" succeeded/);
    expect(screen).toMatch(/state\s+Succeeded \/ Completed/);
    expect(screen).toContain('Demo finished: every step succeeded.');
  }, 660_000);
});
