/**
 * Steps: the plan as data. Each engine compiles config + discovery into these per database; the
 * plan prints them, and apply executes exactly them (src/run/execute-database.ts), recording each.
 */
import type { DatabasePhase } from '../state/types.js';

export type StepKind =
  | 'validate'
  | 'register'
  | 'roles'
  | 'create-database'
  | 'snapshot'
  | 'publication'
  | 'slot-snapshot'
  | 'schema-pre-data'
  | 'copy-data'
  | 'schema-post-data'
  | 'schema-objects'
  | 'sequences'
  | 'large-objects'
  | 'analyze'
  | 'verify'
  | 'subscription'
  | 'replica'
  | 'cutover';

/**
 * Steps of the whole migration that apply itself executes (cutover through engine.cutover, with
 * cutover: true); the migration's other steps are the engine's (runMigrationStep).
 */
export const APPLY_OWN_STEP_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['validate', 'register', 'roles', 'cutover']);

export interface Step {
  /** `<database>:<kind>`, or `<kind>` for a step of the whole migration. Stable: the state records it. */
  id: string;
  kind: StepKind;
  database: string | null;
  description: string;
  /** Ids of the steps that must have finished before this one starts. */
  after: string[];
  /** Ids of steps this one runs alongside, taking their output as it comes (copy-data takes each table as its schema batch commits). */
  alongside?: string[];
  /** The exact names of the server objects this step creates (replication slot, publications, subscription). */
  objects?: Record<string, string>;
  /** Source bytes the step reads, when known (copy-data, verify). */
  estimatedBytes?: number | null;
  /** The database phase recorded when the step is done (status shows it). */
  records?: DatabasePhase;
  /** Run again by every apply even when done (the snapshot of a resumed copy is a new one). */
  always?: boolean;
  /** Which command executes it: cutover steps run in `dbferry cutover` unless cutover: true. */
  runBy: 'apply' | 'cutover';
}

/**
 * How an interrupted database resumes. per-step: done steps are skipped (and the copy skips done
 * tables); with `startOverUntil`, a database stopped before that step was done starts over
 * (PostgreSQL: schema-pre-data, whose table units are created by the copy workers). all-or-nothing: a database whose steps did not all finish starts over (its copy belongs
 * to a replication slot's snapshot, or, on MySQL, to a snapshot that cannot be taken again); with
 * `until`, its steps count as done only once that step of the migration is (MySQL: the one
 * replica, which starts from one snapshot shared by every replicated database).
 */
export type ResumePolicy = { kind: 'per-step'; startOverUntil?: StepKind } | { kind: 'all-or-nothing'; until?: string };

/** Builds a step: id from database and kind, `runBy` apply unless said otherwise. */
export function step(database: string | null, kind: StepKind, description: string, more: Partial<Step> = {}): Step {
  return { id: database === null ? kind : `${database}:${kind}`, kind, database, description, after: [], runBy: 'apply', ...more };
}

/** Links steps in order: each runs after the one before it, unless it names its own `after`. */
export function chain(steps: Step[]): Step[] {
  return steps.map((s, i) => (i === 0 || s.after.length ? s : { ...s, after: [(steps[i - 1] as Step).id] }));
}
