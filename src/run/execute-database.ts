/**
 * Executes one database's steps of the plan as Listr2 subtasks: what earlier runs recorded
 * decides which run (engines/resume.ts); each step starts once the steps it comes after are
 * done, runs through the engine's session and is recorded. The first failure stops the others
 * and is the one reported.
 */
import type { ListrTaskWrapper } from 'listr2';
import { resumePolicy } from '../engines/compile.js';
import type { DatabaseRun, DatabaseSession, Engine } from '../engines/engine.js';
import { DatabaseRecorder } from '../engines/recorder.js';
import { resumeDatabase, type ResumeDecision } from '../engines/resume.js';
import type { Step } from '../engines/steps.js';
import type { StateStore } from '../state/types.js';
import type { Probe } from '../util/probe.js';
import { now } from '../util/time.js';

export type StepOutcome = { id: string; state: 'done' | 'skipped' };

/** What a database's execution needs besides its steps (DatabaseRun without what the executor decides). */
export type DatabaseBase = Omit<DatabaseRun, 'record' | 'signal' | 'running' | 'resuming' | 'restart'> & {
  signal?: AbortSignal | undefined;
};

export interface DatabaseExecution {
  engine: Engine;
  base: DatabaseBase;
  steps: Step[];
  /** Progress of the database and its steps (Listr output and structured logs). */
  report(line: string, figures?: Record<string, number>): void;
  /** Every step done or skipped, in the order they ended. */
  outcomes: StepOutcome[];
}

// Listr's task wrapper, whatever its renderer types.
type Task = ListrTaskWrapper<unknown, never, never>;

async function decide(exec: DatabaseExecution): Promise<ResumeDecision> {
  const { cfg, database: db, store, method } = exec.base;
  const done = new Set((await store.getSteps(cfg.name)).filter((r) => r.dbname === db && r.state === 'done').map((r) => r.step));
  // A database's steps count as done only with the migration step its policy waits for (MySQL: the replica).
  for (const r of await store.getSteps(cfg.name)) if (r.dbname === '' && r.state === 'done') done.add(r.step);
  return resumeDatabase(exec.steps, resumePolicy(cfg, method), done);
}

function recordStep(store: StateStore, migration: string, db: string, step: Step, state: 'running' | 'done' | 'failed'): Promise<void> {
  return store.recordStep({ migration, dbname: db, step: step.id, state, updatedAt: now() });
}

/** Runs one step once its predecessors are done; records it; fires the probe's `after:` points. */
async function runOne(
  exec: DatabaseExecution,
  session: DatabaseSession,
  record: DatabaseRecorder,
  step: Step,
  task: Task,
  probe: Probe,
): Promise<void> {
  const { cfg, database: db, store } = exec.base;
  const report = (line: string, figures?: Record<string, number>): void => {
    task.output = line;
    exec.report(line, figures);
  };
  await recordStep(store, cfg.name, db, step, 'running');
  await session.runStep(step, { report });
  await recordStep(store, cfg.name, db, step, 'done');
  if (step.records) await record.save({ phase: step.records });
  exec.outcomes.push({ id: step.id, state: 'done' });
  await probe.at(`after:${step.kind}`, { report, signal: exec.base.signal });
  await probe.at(`after:${step.id}`, { report, signal: exec.base.signal });
}

export async function executeDatabase(exec: DatabaseExecution, task: Task): Promise<string> {
  const { cfg, database: db, store, method } = exec.base;
  const decision = await decide(exec);
  for (const s of decision.skip) exec.outcomes.push({ id: s.id, state: 'skipped' });
  if (decision.run.length === 0) return method === 'replication' ? 'already replicating' : 'already done by an earlier run';
  if (decision.restart) {
    exec.report(`the earlier run stopped before the end: starting this database over`);
    await store.resetSteps(cfg.name, db);
    await store.resetTables(cfg.name, db);
  }
  const record = await DatabaseRecorder.open(store, cfg.name, db, method);
  await record.save({ status: 'running', error: null, ...(decision.restart ? { phase: null } : {}) });
  const controller = new AbortController();
  const outer = exec.base.signal;
  const onAbort = (): void => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  const run: DatabaseRun = {
    ...exec.base,
    record,
    signal: controller.signal,
    running: new Set(decision.run.map((s) => s.id)),
    resuming: decision.resuming,
    restart: decision.restart,
  };
  try {
    const session = await exec.engine.openDatabase(run);
    return await runSteps(exec, session, run, decision, task, controller);
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
}

async function runSteps(
  exec: DatabaseExecution,
  session: DatabaseSession,
  run: DatabaseRun,
  decision: ResumeDecision,
  task: Task,
  controller: AbortController,
): Promise<string> {
  const ended = new Map<string, Promise<void>>();
  const running = new Set(decision.run.map((s) => s.id));
  let firstError: unknown;
  const started: Promise<void>[] = [];
  const subtasks = exec.steps
    .filter((s) => s.runBy === 'apply')
    .map((step) => {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      ended.set(step.id, new Promise<void>((res, rej) => ((resolve = res), (reject = rej))));
      ended.get(step.id)?.catch(() => undefined);
      return {
        title: `${step.kind}: ${step.description}`,
        skip: () => (running.has(step.id) ? false : 'done by an earlier run'),
        task: async (_c: unknown, t: Task): Promise<void> => {
          const work = (async () => {
            await Promise.all(step.after.filter((id) => running.has(id)).map((id) => ended.get(id)));
            await runOne(exec, session, run.record, step, t, run.probe);
          })();
          started.push(work.catch(() => undefined));
          try {
            await work;
            resolve();
          } catch (e) {
            firstError ??= e;
            controller.abort(e);
            reject(e);
            throw e;
          }
        },
      };
    });
  try {
    await task.newListr(subtasks as never, { concurrent: true, exitOnError: true }).run();
    return await session.finish();
  } catch (e) {
    await Promise.all(started);
    throw await session.fail(firstError ?? e);
  } finally {
    await session.close();
  }
}
