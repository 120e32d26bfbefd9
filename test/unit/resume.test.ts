/** Resume is a pure function of the plan's steps and what earlier runs recorded; registration against an in-memory store. */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/load.js';
import { compileDatabaseSteps, compileMigrationSteps, resumePolicy } from '../../src/engines/compile.js';
import { migrationStepDue, resumeDatabase } from '../../src/engines/resume.js';
import { step } from '../../src/engines/steps.js';
import { buildPlan } from '../../src/plan/build.js';
import { registerMigration } from '../../src/run/apply.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';

const PG = 'version: 1\nname: m\nsource: {host: a, username: u}\ntarget: {host: b, username: u}\ndatabases: {include: [app]}\n';
const cfgOf = (extra = '') => loadConfigText('migration.yaml', PG + extra).config;

describe('resumeDatabase', () => {
  const cfg = cfgOf();
  const steps = compileDatabaseSteps({ cfg, database: 'app', method: 'dump', action: 'create' });
  const ids = (xs: { id: string }[]) => xs.map((s) => s.id);

  it('a first run runs every step', () => {
    const d = resumeDatabase(steps, resumePolicy(cfg, 'dump'), new Set());
    expect(d).toMatchObject({ restart: false, resuming: false, skip: [] });
    expect(ids(d.run)).toEqual(ids(steps));
  });

  it('per-step: done steps are skipped, the snapshot is taken again', () => {
    const done = new Set(['app:create-database', 'app:snapshot', 'app:schema-pre-data', 'app:copy-data']);
    const d = resumeDatabase(steps, resumePolicy(cfg, 'dump'), done);
    expect(d.restart).toBe(false);
    expect(d.resuming).toBe(true);
    expect(ids(d.skip)).toEqual(['app:create-database', 'app:schema-pre-data', 'app:copy-data']);
    expect(ids(d.run)).toEqual(['app:snapshot', 'app:schema-post-data', 'app:sequences', 'app:large-objects', 'app:analyze', 'app:verify']);
  });

  it('every step done: nothing runs', () => {
    const d = resumeDatabase(steps, resumePolicy(cfg, 'dump'), new Set(ids(steps)));
    expect(d.run).toEqual([]);
  });

  it('all-or-nothing (online PostgreSQL): an unfinished database starts over', () => {
    const online = cfgOf('mode: online\nmethod: replication\n');
    const repl = compileDatabaseSteps({ cfg: online, database: 'app', method: 'replication', action: 'create' });
    expect(repl.find((s) => s.kind === 'cutover')?.runBy).toBe('cutover');
    const d = resumeDatabase(repl, resumePolicy(online, 'replication'), new Set(['app:publication', 'app:slot-snapshot']));
    expect(d).toMatchObject({ restart: true, resuming: false });
    expect(d.run.map((s) => s.kind)).not.toContain('cutover');
    const all = repl.filter((s) => s.runBy === 'apply').map((s) => s.id);
    expect(resumeDatabase(repl, resumePolicy(online, 'replication'), new Set(all)).run).toEqual([]);
  });

  it('MySQL online: a copied database counts as done only once the replica started', () => {
    const my = loadConfigText(
      'migration.yaml',
      PG.replace('name: m', 'name: m\nengine: mysql') + 'mode: online\nmethod: replication\n',
    ).config;
    const steps = compileDatabaseSteps({ cfg: my, database: 'app', method: 'replication', action: 'create' });
    const all = new Set(steps.map((s) => s.id));
    expect(resumeDatabase(steps, resumePolicy(my, 'replication'), all).restart).toBe(true);
    expect(resumeDatabase(steps, resumePolicy(my, 'replication'), new Set([...all, 'replica'])).run).toEqual([]);
    expect(compileMigrationSteps(my, ['app']).map((s) => [s.id, s.after])).toEqual([
      ['replica', ['app:schema-objects']],
      ['cutover', ['replica']],
    ]);
  });
});

describe('registration (in-memory store)', () => {
  const loaded = loadConfigText('migration.yaml', PG);
  const plan = buildPlan({ loaded, discovery: null, checks: null });

  it('registers once, resumes with the same config, refuses another config or a finished name', async () => {
    const store = new MemoryStateStore();
    expect((await registerMigration(store, loaded, plan)).resumed).toBe(false);
    expect((await store.getDatabases('m')).map((d) => d.dbname)).toEqual(['app']);
    expect((await registerMigration(store, loaded, plan)).resumed).toBe(true);
    const other = { ...plan, fingerprint: { ...plan.fingerprint, config: 'different' } };
    await expect(registerMigration(store, loaded, other)).rejects.toThrow(/different configuration/);
    await store.updateMigration('m', { state: 'Succeeded' });
    await expect(registerMigration(store, loaded, plan)).rejects.toThrow(/already exists/);
  });

  it('refuses a database another active migration is migrating', async () => {
    const store = new MemoryStateStore();
    await registerMigration(store, loaded, plan);
    const second = loadConfigText('migration.yaml', PG.replace('name: m', 'name: n'));
    await expect(registerMigration(store, second, buildPlan({ loaded: second, discovery: null, checks: null }))).rejects.toThrow(
      /already being migrated by active migration "m"/,
    );
  });

  it('the lock is held by one process at a time; steps are recorded and forgotten per database', async () => {
    const store = new MemoryStateStore();
    expect(await store.tryLock('m')).toBe(true);
    expect(await store.tryLock('m')).toBe(false);
    await store.recordStep({ migration: 'm', dbname: 'app', step: 'app:copy-data', state: 'done', updatedAt: '' });
    expect((await store.getSteps('m')).map((s) => s.step)).toEqual(['app:copy-data']);
    await store.resetSteps('m', 'app');
    expect(await store.getSteps('m')).toEqual([]);
  });
});

describe('migrationStepDue', () => {
  const replica = step(null, 'replica', 'start the replica');
  it('runs a step no run recorded', () => {
    expect(migrationStepDue(replica, false, [])).toBe(true);
  });
  it('skips a recorded replica while every replicated database replicates', () => {
    expect(migrationStepDue(replica, true, [{ method: 'replication', phase: 'syncing' }])).toBe(false);
  });
  it('runs the replica again when a replicated database was copied again', () => {
    expect(migrationStepDue(replica, true, [{ method: 'replication', phase: 'copied' }])).toBe(true);
    expect(migrationStepDue(replica, true, [{ method: 'dump', phase: 'copied' }])).toBe(false);
  });
});
