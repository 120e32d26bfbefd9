/**
 * Running a migration: register it in the target's state store (atomically, under a lock),
 * refuse conflicts, then run the engine's steps as a Listr2 task tree, recording the outcome.
 */
import type { ListrTask } from 'listr2';
import type { LoadedConfig } from '../config/types.js';
import type { Engine } from '../engines/engine.js';
import type { Plan } from '../plan/types.js';
import { DbferryError, messageOf } from '../util/errors.js';
import { redact, redactValue } from '../util/redact.js';
import { interrupted, runTasks, type RunnerOptions } from './runner.js';
import { summarize, type CheckOutcome } from '../engines/checks.js';
import { recordValidation } from './validation.js';
import { newDatabaseRecord } from '../state/records.js';
import { stateAfterStoppedRun } from '../state/transitions.js';
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
}

export interface ApplyResult {
  migration: MigrationRecord;
  resumed: boolean;
}

interface Ctx {
  store?: StateStore;
  resumed: boolean;
}

const now = (): string => new Date().toISOString();

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
    await store.updateMigration(cfg.name, { state: 'InProgress', substate: 'PerformingPreRequisiteSteps', error: null, endedAt: null });
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
    const fellBack = d.method === 'dump' && /fell back/.test(d.methodReason) ? d.methodReason : null;
    await store.upsertDatabase(newDatabaseRecord(cfg.name, d.name, d.method === 'replication' ? 'replication' : 'dump', fellBack));
  }
  return { record, resumed: false };
}

export async function applyMigration(input: ApplyInput): Promise<ApplyResult> {
  const { loaded, plan, engine } = input;
  const cfg = loaded.config;
  const store = await engine.openStateStore(cfg);
  let locked = false;
  const ctx: Ctx = { resumed: false };
  const databases = plan.databases.filter((d) => d.action !== 'refuse-non-empty');
  const notify = (event: NotifyEvent, text: string, extra: { state?: string; substate?: string; error?: string | null } = {}): void =>
    input.notifier?.send({
      event,
      migration: cfg.name,
      state: extra.state ?? 'InProgress',
      substate: extra.substate ?? 'MigratingData',
      text,
      databases: databases.map((d) => d.name),
      ...(extra.error !== undefined ? { error: extra.error } : {}),
    });
  // Databases run in parallel within the job budget; each gets its share of workers.
  const parallelDatabases = Math.max(1, Math.min(databases.length, cfg.copy.jobs));
  // copy.maxRate and copy.pauseWhen hold for the whole run: one gate for every copy stream of every database.
  const reporters = new Set<(line: string) => void>();
  const pw = cfg.copy.pauseWhen;
  const sourceGuard =
    engine.sourceGuard && (pw.sourceConnectionsAbove !== null || pw.standbyLagAbove !== null)
      ? await engine.sourceGuard(cfg, (reason) => {
          for (const report of reporters) report(reason ? `copy paused: ${reason}` : 'copy resumed');
        })
      : undefined;
  const limiter =
    cfg.copy.maxRate || sourceGuard
      ? new RateLimiter(cfg.copy.maxRate ?? Infinity, undefined, () => sourceGuard?.reason() ?? null)
      : undefined;
  const jobsPerDatabase = Math.max(1, Math.floor(cfg.copy.jobs / parallelDatabases));
  try {
    const tasks: ListrTask<Ctx>[] = [
      {
        title: `Register migration "${cfg.name}" on the target`,
        task: async (c, task) => {
          await store.ensure();
          locked = await store.tryLock(cfg.name);
          if (!locked) {
            throw new DbferryError('LOCKED', `another dbferry process is applying migration "${cfg.name}" on the ${store.location}`, {
              hint: 'Wait for it to finish (`dbferry status --watch`), or stop it first.',
            });
          }
          const r = await store.withRegistrationLock(() => registerMigration(store, loaded, plan));
          c.resumed = r.resumed;
          notify('started', `migration ${cfg.name} ${r.resumed ? 'resumed' : 'started'}: ${plan.summary.text}`);
          task.title = `${r.resumed ? 'Resumed' : 'Registered'} migration "${cfg.name}" on the ${store.location}`;
        },
      },
      {
        title: 'Record the pre-migration check',
        enabled: () => input.outcome !== null,
        task: async (_c, task) => {
          const outcome = input.outcome as CheckOutcome;
          await recordValidation(store, cfg, plan.fingerprint.config, outcome);
          const s = summarize(outcome.checks);
          task.title = `Pre-migration check: ${s.succeeded} succeeded, ${s.warnings} warnings, ${s.failed} failed`;
          if (s.failed > 0) {
            await store.updateMigration(cfg.name, {
              state: 'ValidationFailed',
              substate: 'Failed',
              error: `${s.failed} pre-migration check(s) failed`,
              endedAt: now(),
            });
            throw new DbferryError('CHECK_FAILED', `${s.failed} pre-migration check(s) failed; nothing was copied`, {
              hint: 'Run `dbferry check` to see them with their fixes.',
            });
          }
          if (cfg.option === 'Validate') {
            await store.updateMigration(cfg.name, { state: 'Succeeded', substate: 'Completed', error: null, endedAt: now() });
          }
        },
      },
      {
        title: 'Prepare the target',
        enabled: () => cfg.option !== 'Validate',
        task: async (_c, task) => {
          await store.updateMigration(cfg.name, { substate: 'PerformingPreRequisiteSteps' });
          const lines = await engine.prepareTarget(
            cfg,
            (line) => {
              task.output = line;
            },
            input.env,
          );
          task.title = lines.length ? `Prepared the target: ${lines.join('; ')}` : 'Prepared the target';
        },
      },
      {
        title: `Migrate ${databases.length} database${databases.length === 1 ? '' : 's'}`,
        enabled: () => cfg.option !== 'Validate' && databases.length > 0,
        task: async (_c, task) => {
          await store.updateMigration(cfg.name, { substate: 'MigratingData' });
          return task.newListr(
            databases.map((d): ListrTask<Ctx> => ({
              title: `Database "${d.name}" (${d.method})`,
              task: async (_c2, sub) => {
                if (/fell back/.test(d.methodReason)) sub.output = d.methodReason;
                const log = input.runner.log;
                log?.({ event: 'database.started', database: d.name, message: `${d.name} (${d.method})` });
                const report = (line: string, figures?: Record<string, number>): void => {
                  sub.output = line;
                  log?.({ event: 'progress', database: d.name, message: line, ...(figures ? { figures } : {}) });
                };
                reporters.add(report);
                const pausedNow = sourceGuard?.reason();
                if (pausedNow) report(`copy paused: ${pausedNow}`);
                const migrated = engine.migrateDatabase({
                  cfg,
                  database: d.name,
                  method: d.method === 'replication' ? 'replication' : 'dump',
                  jobs: jobsPerDatabase,
                  store,
                  env: input.env,
                  ...(input.pgbin ? { pgbin: input.pgbin } : {}),
                  ...(input.runner.signal ? { signal: input.runner.signal } : {}),
                  ...(limiter ? { limiter } : {}),
                  report,
                });
                await migrated
                  .catch((e: unknown) => {
                    log?.({ level: 'error', event: 'database.failed', database: d.name, message: messageOf(e) });
                    throw e;
                  })
                  .finally(() => reporters.delete(report));
                sub.title = `Database "${d.name}" (${d.method}): done`;
                log?.({ event: 'database.completed', database: d.name, message: sub.title });
              },
              rendererOptions: { persistentOutput: true },
            })),
            { concurrent: parallelDatabases, exitOnError: true },
          );
        },
      },
      {
        title: 'Complete the migration',
        enabled: () => cfg.option !== 'Validate',
        task: async (_c, task) => {
          notify('copied', `migration ${cfg.name}: ${databases.length} database(s) copied`);
          await engine.afterDatabases(
            cfg,
            store,
            (line) => {
              task.output = line;
            },
            input.env,
          );
          const syncing = (await store.getDatabases(cfg.name)).filter((d) => d.status === 'syncing');
          if (syncing.length === 0) {
            await store.updateMigration(cfg.name, { state: 'Succeeded', substate: 'Completed', error: null, endedAt: now() });
            notify('succeeded', `migration ${cfg.name} succeeded`, { state: 'Succeeded', substate: 'Completed' });
            task.title = `Migration "${cfg.name}" succeeded`;
            return;
          }
          if (cfg.cutover) {
            task.title = 'Cut over (cutover: true)';
            const lines = await engine.cutover(
              cfg,
              store,
              cfg.cutoverDatabases,
              (line) => {
                task.output = line;
              },
              input.runner.signal,
              input.env,
            );
            const m = await store.getMigration(cfg.name);
            task.title = `Cut over: ${lines.join('; ')}${m?.state === 'Succeeded' ? `; migration "${cfg.name}" succeeded` : ''}`;
            if (m?.state === 'Succeeded')
              notify('succeeded', `migration ${cfg.name} cut over and succeeded`, { state: 'Succeeded', substate: 'Completed' });
            return;
          }
          await store.updateMigration(cfg.name, { state: 'InProgress', substate: 'WaitingForCutoverTrigger', error: null });
          notify(
            'waiting_for_cutover',
            `migration ${cfg.name}: replicating ${syncing.map((d) => d.dbname).join(', ')}, waiting for dbferry cutover`,
            {
              state: 'InProgress',
              substate: 'WaitingForCutoverTrigger',
            },
          );
          task.title = `Replicating ${syncing.map((d) => `"${d.dbname}"`).join(', ')}: waiting for \`dbferry cutover\` (follow with \`dbferry status --watch\`)`;
        },
      },
    ];
    // Without a check (option Migrate) these guards stand in for it; with one, its results say it.
    const guard = input.outcome === null;
    const blocked = plan.databases.filter((d) => d.action === 'refuse-non-empty');
    if (guard && blocked.length) {
      throw new DbferryError(
        'MIGRATION_FAILED',
        `target database${blocked.length > 1 ? 's' : ''} ${blocked.map((d) => `"${d.name}"`).join(', ')} already ha${blocked.length > 1 ? 've' : 's'} content`,
        {
          hint: 'Nothing was changed. Set databases.overwrite: true to drop and recreate them, or empty them.',
        },
      );
    }
    const unmatched = (plan.selection ?? []).filter((e) => e.matched.length === 0);
    if (guard && unmatched.length) {
      throw new DbferryError('MIGRATION_FAILED', unmatched.map((e) => `${e.key} "${e.text}" matches nothing on the source`).join('; '), {
        hint: 'Nothing was changed. Fix the name or pattern, or remove the entry.',
      });
    }
    if (guard && plan.missingDatabases.length) {
      throw new DbferryError(
        'MIGRATION_FAILED',
        `database${plan.missingDatabases.length > 1 ? 's' : ''} ${plan.missingDatabases.map((d) => `"${d}"`).join(', ')} not found on the source`,
        {
          hint: 'Nothing was changed. Fix databases.include.',
        },
      );
    }
    try {
      await runTasks(tasks, ctx, input.runner);
    } catch (e) {
      const checkFailed = e instanceof DbferryError && e.code === 'CHECK_FAILED';
      const interruptedRun = input.runner.signal?.aborted === true || (e instanceof DbferryError && e.code === 'INTERRUPTED');
      if (!checkFailed && (await store.getMigration(cfg.name).catch(() => undefined))) {
        const recorded = await store.getDatabases(cfg.name).catch(() => []);
        const patch = stateAfterStoppedRun(recorded, { interrupted: interruptedRun, message: redact(messageOf(e)), at: now() });
        await store.updateMigration(cfg.name, patch).catch(() => undefined);
        if (!interruptedRun)
          notify('failed', `migration ${cfg.name} failed: ${patch.error ?? messageOf(e)}`, {
            state: patch.state ?? 'Failed',
            substate: patch.substate ?? 'Failed',
            error: patch.error ?? null,
          });
      }
      throw interruptedRun ? interrupted() : e;
    }
    const record = (await store.getMigration(cfg.name)) as MigrationRecord;
    return { migration: record, resumed: ctx.resumed };
  } finally {
    await sourceGuard?.stop();
    if (locked) await store.unlock(cfg.name).catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}
