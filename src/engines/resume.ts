/** Which steps a run of apply executes, from the plan and what earlier runs recorded. Pure. */
import type { DatabaseRecord } from '../state/types.js';
import type { ResumePolicy, Step } from './steps.js';

export interface ResumeDecision {
  /** The database starts over: what an earlier run did there is dropped first. */
  restart: boolean;
  /** Steps of this run, in plan order. */
  run: Step[];
  /** Steps done by an earlier run. */
  skip: Step[];
  /** Some step was done by an earlier run (and the database does not start over). */
  resuming: boolean;
}

export function resumeDatabase(steps: readonly Step[], policy: ResumePolicy, done: ReadonlySet<string>): ResumeDecision {
  const applied = steps.filter((s) => s.runBy === 'apply');
  const finished = applied.filter((s) => done.has(s.id));
  if (finished.length === 0) return { restart: false, run: applied, skip: [], resuming: false };
  const committed = policy.kind === 'per-step' || policy.until === undefined || done.has(policy.until);
  if (finished.length === applied.length && committed) return { restart: false, run: [], skip: applied, resuming: true };
  if (policy.kind === 'all-or-nothing') return { restart: true, run: applied, skip: [], resuming: false };
  const gate = policy.startOverUntil === undefined ? undefined : applied.find((s) => s.kind === policy.startOverUntil);
  if (gate && !done.has(gate.id)) return { restart: true, run: applied, skip: [], resuming: false };
  const skip = finished.filter((s) => !s.always);
  return { restart: false, run: applied.filter((s) => !skip.includes(s)), skip, resuming: true };
}

/**
 * Whether a step of the migration itself (database null, run by apply) runs now: when no run
 * recorded it done, or, for the replica (MySQL online), when a database it serves was copied
 * again since (phase 'copied': a database that started over waits for the replica to restart).
 */
export function migrationStepDue(
  step: Step,
  recordedDone: boolean,
  databases: readonly Pick<DatabaseRecord, 'method' | 'phase'>[],
): boolean {
  if (!recordedDone) return true;
  return step.kind === 'replica' && databases.some((d) => d.method === 'replication' && d.phase === 'copied');
}
