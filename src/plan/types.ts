/** The plan: what a migration will do, per database, in order. Stable JSON (formatVersion 1). */
import type { CheckResult } from '../engines/checks.js';
import type { Step } from '../engines/steps.js';

export type { StepKind } from '../engines/steps.js';
/** A step of the plan: what apply executes, by id (engines/steps.ts). */
export type PlanStep = Step;

export type PlannedMethod = 'dump' | 'replication' | 'auto';

export interface PlanDatabase {
  name: string;
  /** As decided: dump | replication, or auto while undecided (offline plan). */
  method: PlannedMethod;
  methodReason: string;
  /** method auto chose dump because a replication prerequisite failed (methodReason says which). */
  fellBack?: boolean;
  action: 'create' | 'overwrite' | 'reuse-empty' | 'refuse-non-empty' | 'resume' | 'unknown';
  sizeBytes: number | null;
  tables: number | null;
  schemas: number | null;
  rowEstimate: number | null;
  encoding: string | null;
  collation: string | null;
  targetExists: boolean | null;
  targetUserObjects: number | null;
  tablesSkipped: string[];
  tablesIncluded: string[];
  /** Owners whose objects the target user will own instead (it may not give objects to them), with counts. */
  ownershipToTargetUser?: { role: string; objects: number }[];
  /** Roles named by grants that will not exist on the target: those grants are skipped. */
  grantsSkipped?: string[];
}

/** A check result as the plan shows it (without the engine's replication flag). */
export type PlanCheck = Omit<CheckResult, 'replication'>;

export interface Plan {
  format: 'dbferry-plan';
  formatVersion: 1;
  kind: 'offline' | 'discovered';
  configFile: string;
  migration: {
    name: string;
    engine: string;
    mode: string;
    option: string;
    method: string;
    cutover: boolean;
    verify: string;
    copyJobs: number;
  };
  source: { server: string; ssl: string; version: string | null };
  target: { server: string; ssl: string; version: string | null };
  databaseSelection: { include: string[]; exclude: string[]; allNonSystem: boolean };
  databases: PlanDatabase[];
  missingDatabases: string[];
  /** What each databases.exclude / tables.include / tables.skip entry matched (null: planned from the config only). */
  selection: { key: string; text: string; matched: string[] }[] | null;
  roles: { migrate: boolean; exclude: string[]; toCreate: string[] | null };
  /** PostgreSQL: the target user (owner of what it may not give away). */
  targetUser?: string | null;
  steps: PlanStep[];
  checks: PlanCheck[] | null;
  warnings: string[];
  summary: {
    databases: number;
    totalBytes: number | null;
    dump: number;
    replication: number;
    undecided: number;
    blocked: number;
    text: string;
  };
  fingerprint: { config: string; sourceSchema: string | null };
}
