/**
 * Executes one database's steps of the plan as Listr2 subtasks: what earlier runs recorded
 * decides which run (engines/resume.ts); each step starts once the steps it comes after are
 * done, runs through the engine's session and is recorded. The first failure stops the others
 * and is the one reported.
 */
import type { Listr, ListrTaskWrapper } from 'listr2';
import { resumePolicy } from '../engines/compile.js';
import type { DatabaseRun, DatabaseSession, Engine } from '../engines/engine.js';
import { DatabaseRecorder } from '../engines/recorder.js';
import { resumeDatabase, type ResumeDecision } from '../engines/resume.js';
import type { Step } from '../engines/steps.js';
import type { StateStore } from '../state/types.js';
import type { Probe } from '../util/probe.js';
import { now } from '../util/time.js';
import { messageOf } from '../util/errors.js';
import { redact } from '../util/redact.js';

export type StepOutcome = { id: string; state: 'done' | 'skipped' };

/** What a database's execution needs besides its steps (DatabaseRun without what the executor decides). */
export type DatabaseBase = Omit<DatabaseRun, 'record' | 'signal' | 'running' | 'resuming' | 'restart'> & {
  signal?: AbortSignal | undefined;
};

export interface DatabaseExecution {
  engine: Engine;
  base: DatabaseBase;
  steps: Step[];
  /** A line about the database (its Listr task's output, and the structured log). */
  report(line: string, figures?: Record<string, number>): void;
  /** A step's progress line for the structured log (the step's own task shows it). */
  log(line: string, figures?: Record<string, number>): void;
  /** Every step done or skipped, in the order they ended. */
  outcomes: StepOutcome[];
  /** The database's outcome: its final line, or the error reported. */
  ended(line: string | null, error?: unknown): void;
}

// Listr's task wrapper, whatever its renderer types.
type Task = ListrTaskWrapper<unknown, never, never>;

async function decide(exec: DatabaseExecution): Promise<ResumeDecision> {
  const { cfg, database: db, store, method } = exec.base;
  // The database's own steps, and the migration's (a policy may wait for one: MySQL's replica).
  const recorded = (await store.getSteps(cfg.name)).filter((r) => (r.dbname === db || r.dbname === '') && r.state === 'done');
  const done = new Set(recorded.map((r) => r.step));
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
    exec.log(line, figures);
  };
  await recordStep(store, cfg.name, db, step, 'running');
  await session.runStep(step, { report });
  await recordStep(store, cfg.name, db, step, 'done');
  if (step.records) await record.save({ phase: step.records });
  exec.outcomes.push({ id: step.id, state: 'done' });
  await probe.at(`after:${step.kind}`, { report, signal: exec.base.signal });
  await probe.at(`after:${step.id}`, { report, signal: exec.base.signal });
}

/**
 * Opens the database's run and returns its steps as the Listr2 subtasks of `task` (concurrent,
 * each waiting for the steps it comes after), or null when an earlier run did them all.
 * `exec.ended` hears the outcome: the final line, or the error reported.
 */
export async function executeDatabase(exec: DatabaseExecution, task: Task): Promise<Listr<unknown> | null> {
  const { cfg, database: db, store, method } = exec.base;
  const decision = await decide(exec);
  for (const s of decision.skip) exec.outcomes.push({ id: s.id, state: 'skipped' });
  if (decision.run.length === 0) {
    // An earlier run did every step but may have stopped before recording the outcome.
    if (method === 'dump')
      await (await DatabaseRecorder.open(store, cfg.name, db, method)).save({ status: 'done', phase: 'verified', error: null });
    exec.ended(method === 'replication' ? 'already replicating' : 'already done by an earlier run');
    return null;
  }
  if (decision.restart) {
    exec.report(`the earlier run stopped before the end: starting this database over`);
    await store.resetSteps(cfg.name, db);
    await store.resetTables(cfg.name, db);
  }
  const record = await DatabaseRecorder.open(store, cfg.name, db, method);
  await record.save({ status: 'running', error: null, ...(decision.restart ? { phase: null } : {}) });
  // Aborted by the run's signal, or by this database's first failing step.
  const controller = new AbortController();
  const outer = exec.base.signal;
  const run: DatabaseRun = {
    ...exec.base,
    record,
    signal: outer ? AbortSignal.any([outer, controller.signal]) : controller.signal,
    running: new Set(decision.run.map((s) => s.id)),
    resuming: decision.resuming,
    restart: decision.restart,
  };
  const session = await exec.engine.openDatabase(run).catch(async (e: unknown) => {
    await record.save({ status: 'failed', error: redact(messageOf(e)) }).catch(() => undefined);
    throw e;
  });
  return task.newListr(stepTasks({ exec, session, run, decision, controller, started: [] }) as never, {
    concurrent: true,
    exitOnError: true,
  });
}

interface Execution {
  exec: DatabaseExecution;
  session: DatabaseSession;
  run: DatabaseRun;
  decision: ResumeDecision;
  controller: AbortController;
  /** Every step started, settled or not. */
  started: Promise<void>[];
  failing?: Promise<unknown>;
}

/** The first failure stops the other steps, waits for them, lets the engine clean up; every failing step reports the same error. */
function failOnce(x: Execution, e: unknown): Promise<unknown> {
  x.failing ??= (async () => {
    x.controller.abort(e);
    await Promise.all(x.started);
    const reported = await x.session.fail(e);
    await x.session.close();
    x.exec.ended(null, reported);
    return reported;
  })();
  return x.failing;
}

function stepTasks(x: Execution): { title?: string; skip?: () => string | false; task: (c: unknown, t: Task) => Promise<void> }[] {
  const running = new Set(x.decision.run.map((s) => s.id));
  const ended = new Map<string, Promise<void>>();
  const tasks = x.exec.steps.map((step) => {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => undefined);
    ended.set(step.id, done);
    return {
      title: `${step.kind}: ${step.description}`,
      skip: () => (running.has(step.id) ? false : 'done by an earlier run'),
      task: async (_c: unknown, t: Task): Promise<void> => {
        const work = (async () => {
          await Promise.all(step.after.filter((id) => running.has(id)).map((id) => ended.get(id)));
          await runOne(x.exec, x.session, x.run.record, step, t, x.run.probe);
        })();
        x.started.push(work.catch(() => undefined));
        try {
          await work;
          resolve();
        } catch (e) {
          reject(e);
          throw await failOnce(x, e);
        }
      },
    };
  });
  // Untitled, so not drawn: once every step is done, the session records the outcome and closes.
  const finish = {
    task: async (): Promise<void> => {
      try {
        await Promise.all([...ended.entries()].filter(([id]) => running.has(id)).map(([, p]) => p));
      } catch {
        return;
      }
      try {
        const line = await x.session.finish();
        await x.session.close();
        x.exec.ended(line);
      } catch (e) {
        throw await failOnce(x, e);
      }
    },
  };
  return [...tasks, finish];
}
