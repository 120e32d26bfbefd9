/**
 * Running a migration: register it in the target's state store (atomically, under a lock),
 * refuse conflicts, then run the engine's steps as a Listr2 task tree, recording the outcome.
 */
import type { ListrTask } from 'listr2';
import type { LoadedConfig } from '../config/types.js';
import type { Engine, MigrationRun, SourceGuard } from '../engines/engine.js';
import type { Plan } from '../plan/types.js';
import { DbferryError, messageOf } from '../util/errors.js';
import { redact, redactValue } from '../util/redact.js';
import { runTasks, type RunnerOptions } from './runner.js';
import { interrupted } from '../util/abort.js';
import { summarize, type CheckOutcome } from '../engines/checks.js';
import { recordValidation } from './validation.js';
import { newDatabaseRecord } from '../state/records.js';
import { stateAfterStoppedRun, transition } from '../state/transitions.js';
import { now } from '../util/time.js';
import { executeDatabase, type StepOutcome } from './execute-database.js';
import { migrationStepDue } from '../engines/resume.js';
import { APPLY_OWN_STEP_KINDS, type Step } from '../engines/steps.js';
import type { Probe } from '../util/probe.js';
import type { Notifier, NotifyEvent } from './notify.js';
import { RateLimiter } from '../util/rate-limit.js';
import { type MigrationRecord, type StateStore } from '../state/types.js';

export interface ApplyInput {
  loaded: LoadedConfig;
  plan: Plan;
  /** The pre-migration check run for this plan (null for option Migrate). */
  outcome: CheckOutcome | null;
  engine: Engine;
  runner: RunnerOptions;
  env: Readonly<Record<string, string | undefined>>;
  pgbin?: string;
  /** Webhook notifications of state changes (never blocking). */
  notifier?: Notifier;
  probe: Probe;
}

export interface ApplyResult {
  migration: MigrationRecord;
  resumed: boolean;
  /** The plan's steps this run executed or found done, by id. */
  steps: StepOutcome[];
}

interface Ctx {
  resumed: boolean;
}

/** Registers (or resumes) the migration; the store must be locked by the caller. */
export async function registerMigration(
  store: StateStore,
  loaded: LoadedConfig,
  plan: Plan,
): Promise<{ record: MigrationRecord; resumed: boolean }> {
  const cfg = loaded.config;
  await store.ensure();
  const existing = await store.getMigration(cfg.name);
  if (existing) {
    if (existing.state === 'Succeeded' || existing.state === 'Canceled') {
      throw new DbferryError(
        'STATE_CONFLICT',
        `migration "${cfg.name}" already exists on the ${store.location} (state ${existing.state}); migration names are unique per target`,
        {
          hint: 'Give this migration a new `name:`.',
        },
      );
    }
    if (existing.configFingerprint !== plan.fingerprint.config) {
      throw new DbferryError(
        'STATE_CONFLICT',
        `migration "${cfg.name}" was started on the target with a different configuration (state ${existing.state})`,
        {
          hint: 'Resume it with the configuration it was started with, `dbferry cancel` it, or use a new name.',
        },
      );
    }
  }
  const planned = new Set(plan.databases.map((d) => d.name));
  for (const other of await store.listMigrations('active')) {
    if (other.name === cfg.name) continue;
    const clash = (await store.getDatabases(other.name)).map((d) => d.dbname).filter((d) => planned.has(d));
    if (clash.length) {
      throw new DbferryError(
        'STATE_CONFLICT',
        `database${clash.length > 1 ? 's' : ''} ${clash.map((d) => `"${d}"`).join(', ')} ${clash.length > 1 ? 'are' : 'is'} already being migrated by active migration "${other.name}" (${other.state})`,
        {
          hint: `Only one active migration per target database: finish or \`dbferry cancel\` "${other.name}" first.`,
        },
      );
    }
  }
  const stamp = now();
  if (existing) {
    await store.updateMigration(cfg.name, transition.started());
    return { record: (await store.getMigration(cfg.name)) as MigrationRecord, resumed: true };
  }
  const record: MigrationRecord = {
    name: cfg.name,
    engine: cfg.engine,
    mode: cfg.mode,
    option: cfg.option,
    method: cfg.method,
    state: 'InProgress',
    substate: 'PerformingPreRequisiteSteps',
    error: null,
    configFingerprint: plan.fingerprint.config,
    sourceFingerprint: plan.fingerprint.sourceSchema,
    plan: redactValue(plan),
    createdAt: stamp,
    updatedAt: stamp,
    startedAt: stamp,
    endedAt: null,
  };
  if (!(await store.createMigration(record))) {
    throw new DbferryError('LOCKED', `migration "${cfg.name}" was registered by another dbferry process at the same moment`, {
      hint: 'Run `dbferry status` to follow it.',
    });
  }
  for (const d of plan.databases) {
    if (d.action === 'refuse-non-empty') continue;
    const fellBack = d.fellBack ? d.methodReason : null;
    await store.upsertDatabase(newDatabaseRecord(cfg.name, d.name, d.method === 'replication' ? 'replication' : 'dump', fellBack));
  }
  return { record, resumed: false };
}

/** What the tasks of one apply share. */
interface ApplyRun {
  input: ApplyInput;
  cfg: LoadedConfig['config'];
  store: StateStore;
  /** The databases this run migrates (those refused as not empty are not). */
  databases: Plan['databases'];
  outcomes: StepOutcome[];
  /** copy.maxRate and copy.pauseWhen hold for the whole run: one gate for every copy stream of every database. */
  limiter?: RateLimiter;
  sourceGuard?: SourceGuard;
  /** Who hears that copy.pauseWhen paused or resumed the copy. */
  reporters: Set<(line: string) => void>;
  notify(event: NotifyEvent, text: string, extra?: { state?: string; substate?: string; error?: string | null }): void;
  locked: boolean;
}

const stepsOf = (plan: Plan, database: string | null): Step[] => plan.steps.filter((s) => s.database === database);

/** Without a check (option Migrate) these guards stand in for it; with one, its results say it. */
function guardWithoutCheck(plan: Plan): void {
  const blocked = plan.databases.filter((d) => d.action === 'refuse-non-empty');
  if (blocked.length) {
    throw new DbferryError(
      'MIGRATION_FAILED',
      `target database${blocked.length > 1 ? 's' : ''} ${blocked.map((d) => `"${d.name}"`).join(', ')} already ha${blocked.length > 1 ? 've' : 's'} content`,
      { hint: 'Nothing was changed. Set databases.overwrite: true to drop and recreate them, or empty them.' },
    );
  }
  const unmatched = (plan.selection ?? []).filter((e) => e.matched.length === 0);
  if (unmatched.length) {
    throw new DbferryError('MIGRATION_FAILED', unmatched.map((e) => `${e.key} "${e.text}" matches nothing on the source`).join('; '), {
      hint: 'Nothing was changed. Fix the name or pattern, or remove the entry.',
    });
  }
  if (plan.missingDatabases.length) {
    const n = plan.missingDatabases.length;
    throw new DbferryError(
      'MIGRATION_FAILED',
      `database${n > 1 ? 's' : ''} ${plan.missingDatabases.map((d) => `"${d}"`).join(', ')} not found on the source`,
      {
        hint: 'Nothing was changed. Fix databases.include.',
      },
    );
  }
}

async function openGates(run: ApplyRun): Promise<void> {
  const { cfg, input } = run;
  const pw = cfg.copy.pauseWhen;
  if (input.engine.sourceGuard && (pw.sourceConnectionsAbove !== null || pw.standbyLagAbove !== null)) {
    run.sourceGuard = await input.engine.sourceGuard(cfg, (reason) => {
      for (const report of run.reporters) report(reason ? `copy paused: ${reason}` : 'copy resumed');
    });
  }
  if (cfg.copy.maxRate || run.sourceGuard)
    run.limiter = new RateLimiter(cfg.copy.maxRate ?? Infinity, undefined, () => run.sourceGuard?.reason() ?? null);
}

function registerTask(run: ApplyRun): ListrTask<Ctx> {
  const { cfg, store, input } = run;
  return {
    title: `Register migration "${cfg.name}" on the target`,
    task: async (c, task) => {
      await store.ensure();
      run.locked = await store.tryLock(cfg.name);
      if (!run.locked) {
        throw new DbferryError('LOCKED', `another dbferry process is applying migration "${cfg.name}" on the ${store.location}`, {
          hint: 'Wait for it to finish (`dbferry status --watch`), or stop it first.',
        });
      }
      const r = await store.withRegistrationLock(() => registerMigration(store, input.loaded, input.plan));
      c.resumed = r.resumed;
      run.outcomes.push({ id: 'register', state: 'done' });
      run.notify('started', `migration ${cfg.name} ${r.resumed ? 'resumed' : 'started'}: ${input.plan.summary.text}`);
      task.title = `${r.resumed ? 'Resumed' : 'Registered'} migration "${cfg.name}" on the ${store.location}`;
    },
  };
}

function checkTask(run: ApplyRun): ListrTask<Ctx> {
  const { cfg, store, input } = run;
  return {
    title: 'Record the pre-migration check',
    enabled: () => input.outcome !== null,
    task: async (_c, task) => {
      const outcome = input.outcome as CheckOutcome;
      await recordValidation(store, cfg, input.plan.fingerprint.config, outcome);
      run.outcomes.push({ id: 'validate', state: 'done' });
      const s = summarize(outcome.checks);
      task.title = `Pre-migration check: ${s.succeeded} succeeded, ${s.warnings} warnings, ${s.failed} failed`;
      if (s.failed > 0) {
        await store.updateMigration(cfg.name, transition.checkFailed(s.failed, now()));
        throw new DbferryError('CHECK_FAILED', `${s.failed} pre-migration check(s) failed; nothing was copied`, {
          hint: 'Run `dbferry check` to see them with their fixes.',
        });
      }
      if (cfg.option === 'Validate') await store.updateMigration(cfg.name, transition.validated(now()));
    },
  };
}

function migrationRun(run: ApplyRun, report: (line: string) => void): MigrationRun {
  const { cfg, store, input } = run;
  return { cfg, store, env: input.env, probe: input.probe, signal: input.runner.signal, report };
}

function prepareTask(run: ApplyRun): ListrTask<Ctx> {
  const { cfg, store, input } = run;
  const roles = stepsOf(input.plan, null).find((s) => s.kind === 'roles');
  return {
    title: 'Prepare the target',
    enabled: () => cfg.option !== 'Validate',
    task: async (_c, task) => {
      await store.updateMigration(cfg.name, transition.preparingTarget());
      const report = (line: string): void => {
        task.output = line;
      };
      if (roles && (await migrationStepsDone(store, cfg.name)).has(roles.id)) {
        run.outcomes.push({ id: roles.id, state: 'skipped' });
        task.title = 'Prepared the target: roles created by an earlier run';
        return;
      }
      const lines = await input.engine.prepareTarget(migrationRun(run, report));
      if (roles) {
        await recordMigrationStep(run, roles);
        await input.probe.at(`after:${roles.kind}`);
      }
      task.title = lines.length ? `Prepared the target: ${lines.join('; ')}` : 'Prepared the target';
    },
  };
}

function databaseTask(run: ApplyRun, d: Plan['databases'][number], jobs: number): ListrTask<Ctx> {
  const { cfg, store, input } = run;
  const log = input.runner.log;
  return {
    title: `Database "${d.name}" (${d.method})`,
    task: async (_c, sub) => {
      if (d.fellBack) sub.output = d.methodReason;
      log?.({ event: 'database.started', database: d.name, message: `${d.name} (${d.method})` });
      const logLine = (line: string, figures?: Record<string, number>): void =>
        log?.({ event: 'progress', database: d.name, message: line, ...(figures ? { figures } : {}) });
      const report = (line: string, figures?: Record<string, number>): void => {
        sub.output = line;
        logLine(line, figures);
      };
      run.reporters.add(report);
      const pausedNow = run.sourceGuard?.reason();
      if (pausedNow) report(`copy paused: ${pausedNow}`);
      const method = d.method === 'replication' ? 'replication' : 'dump';
      const base = {
        cfg,
        database: d.name,
        method,
        jobs,
        store,
        env: input.env,
        probe: input.probe,
        signal: input.runner.signal,
        ...(input.pgbin ? { pgbin: input.pgbin } : {}),
        ...(run.limiter ? { limiter: run.limiter } : {}),
      } as const;
      // Cutover steps run after every database (completeTask), never inside one.
      const steps = stepsOf(input.plan, d.name).filter((s) => s.kind !== 'cutover');
      const ended = (line: string | null, error?: unknown): void => {
        run.reporters.delete(report);
        if (line === null) {
          log?.({ level: 'error', event: 'database.failed', database: d.name, message: messageOf(error) });
          return;
        }
        sub.title = `Database "${d.name}" (${d.method}): ${line}`;
        log?.({ event: 'database.completed', database: d.name, message: sub.title });
      };
      try {
        const list = await executeDatabase(
          { engine: input.engine, base, steps, report, log: logLine, outcomes: run.outcomes, ended },
          sub as never,
        );
        return list ?? undefined;
      } catch (e) {
        ended(null, e);
        throw e;
      }
    },
    rendererOptions: { persistentOutput: true },
  };
}

function databasesTask(run: ApplyRun): ListrTask<Ctx> {
  const { cfg, store, databases } = run;
  // Databases run in parallel within the job budget; each gets its share of workers.
  const parallel = Math.max(1, Math.min(databases.length, cfg.copy.jobs));
  const jobs = Math.max(1, Math.floor(cfg.copy.jobs / parallel));
  return {
    title: `Migrate ${databases.length} database${databases.length === 1 ? '' : 's'}`,
    enabled: () => cfg.option !== 'Validate' && databases.length > 0,
    task: async (_c, task) => {
      await store.updateMigration(cfg.name, transition.migratingData());
      return task.newListr(
        databases.map((d) => databaseTask(run, d, jobs)),
        { concurrent: parallel, exitOnError: true },
      );
    },
  };
}

/** The engine's steps of the whole migration after the databases (MySQL online: the replica), as migrationStepDue decides. */
async function runMigrationSteps(run: ApplyRun, report: (line: string) => void): Promise<void> {
  const { cfg, store, input } = run;
  const done = await migrationStepsDone(store, cfg.name);
  for (const step of stepsOf(input.plan, null).filter((s) => s.runBy === 'apply' && !APPLY_OWN_STEP_KINDS.has(s.kind))) {
    if (!migrationStepDue(step, done.has(step.id), await store.getDatabases(cfg.name))) {
      run.outcomes.push({ id: step.id, state: 'skipped' });
      continue;
    }
    await input.engine.runMigrationStep(step, migrationRun(run, report));
    await recordMigrationStep(run, step);
  }
}

/** Ids of the migration's own steps (roles, replica) that this or an earlier run recorded done. */
async function migrationStepsDone(store: StateStore, name: string): Promise<Set<string>> {
  return new Set((await store.getSteps(name)).filter((r) => r.dbname === '' && r.state === 'done').map((r) => r.step));
}

async function recordMigrationStep(run: ApplyRun, step: Step): Promise<void> {
  await run.store.recordStep({ migration: run.cfg.name, dbname: '', step: step.id, state: 'done', updatedAt: now() });
  run.outcomes.push({ id: step.id, state: 'done' });
}

/** cutover: true — the cutover steps of the plan, run now. */
async function cutOverNow(run: ApplyRun, report: (line: string) => void): Promise<string[]> {
  const { cfg, store, input } = run;
  const lines = await input.engine.cutover({ ...migrationRun(run, report), databases: cfg.cutoverDatabases });
  const cut = new Set((await store.getDatabases(cfg.name)).filter((d) => d.status === 'done').map((d) => d.dbname));
  for (const s of input.plan.steps.filter((x) => x.kind === 'cutover' && (x.database === null || cut.has(x.database))))
    run.outcomes.push({ id: s.id, state: 'done' });
  return lines;
}

function completeTask(run: ApplyRun): ListrTask<Ctx> {
  const { cfg, store, databases } = run;
  return {
    title: 'Complete the migration',
    enabled: () => cfg.option !== 'Validate',
    task: async (_c, task) => {
      const report = (line: string): void => {
        task.output = line;
      };
      run.notify('copied', `migration ${cfg.name}: ${databases.length} database(s) copied`);
      await runMigrationSteps(run, report);
      const syncing = (await store.getDatabases(cfg.name)).filter((d) => d.status === 'syncing');
      if (syncing.length === 0) {
        await store.updateMigration(cfg.name, transition.succeeded(now()));
        run.notify('succeeded', `migration ${cfg.name} succeeded`, { state: 'Succeeded', substate: 'Completed' });
        task.title = `Migration "${cfg.name}" succeeded`;
        return;
      }
      if (cfg.cutover) {
        task.title = 'Cut over (cutover: true)';
        const lines = await cutOverNow(run, report);
        const m = await store.getMigration(cfg.name);
        task.title = `Cut over: ${lines.join('; ')}${m?.state === 'Succeeded' ? `; migration "${cfg.name}" succeeded` : ''}`;
        if (m?.state === 'Succeeded')
          run.notify('succeeded', `migration ${cfg.name} cut over and succeeded`, { state: 'Succeeded', substate: 'Completed' });
        return;
      }
      await store.updateMigration(cfg.name, transition.waitingForCutover());
      const names = syncing.map((d) => d.dbname);
      run.notify('waiting_for_cutover', `migration ${cfg.name}: replicating ${names.join(', ')}, waiting for dbferry cutover`, {
        state: 'InProgress',
        substate: 'WaitingForCutoverTrigger',
      });
      task.title = `Replicating ${names.map((d) => `"${d}"`).join(', ')}: waiting for \`dbferry cutover\` (follow with \`dbferry status --watch\`)`;
    },
  };
}

/** A run that stopped: the state it leaves (resumable, or Failed), and the error to report. */
async function recordStop(run: ApplyRun, e: unknown): Promise<unknown> {
  const { cfg, store, input } = run;
  const checkFailed = e instanceof DbferryError && e.code === 'CHECK_FAILED';
  const interruptedRun = input.runner.signal?.aborted === true || (e instanceof DbferryError && e.code === 'INTERRUPTED');
  if (!checkFailed && (await store.getMigration(cfg.name).catch(() => undefined))) {
    const recorded = await store.getDatabases(cfg.name).catch(() => []);
    const patch = stateAfterStoppedRun(recorded, { interrupted: interruptedRun, message: redact(messageOf(e)), at: now() });
    await store.updateMigration(cfg.name, patch).catch(() => undefined);
    if (!interruptedRun)
      run.notify('failed', `migration ${cfg.name} failed: ${patch.error ?? messageOf(e)}`, {
        state: patch.state ?? 'Failed',
        substate: patch.substate ?? 'Failed',
        error: patch.error ?? null,
      });
  }
  return interruptedRun ? interrupted() : e;
}

export async function applyMigration(input: ApplyInput): Promise<ApplyResult> {
  const { loaded, plan, engine } = input;
  const cfg = loaded.config;
  if (input.outcome === null) guardWithoutCheck(plan);
  const store = await engine.openStateStore(cfg);
  const databases = plan.databases.filter((d) => d.action !== 'refuse-non-empty');
  const run: ApplyRun = {
    input,
    cfg,
    store,
    databases,
    outcomes: [],
    reporters: new Set(),
    locked: false,
    notify: (event, text, extra = {}) =>
      input.notifier?.send({
        event,
        migration: cfg.name,
        state: extra.state ?? 'InProgress',
        substate: extra.substate ?? 'MigratingData',
        text,
        databases: databases.map((d) => d.name),
        ...(extra.error !== undefined ? { error: extra.error } : {}),
      }),
  };
  const ctx: Ctx = { resumed: false };
  try {
    await openGates(run);
    const tasks = [registerTask(run), checkTask(run), prepareTask(run), databasesTask(run), completeTask(run)];
    try {
      await runTasks(tasks, ctx, input.runner);
    } catch (e) {
      throw await recordStop(run, e);
    }
    const record = (await store.getMigration(cfg.name)) as MigrationRecord;
    return { migration: record, resumed: ctx.resumed, steps: run.outcomes };
  } finally {
    await run.sourceGuard?.stop();
    if (run.locked) await store.unlock(cfg.name).catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}
