/** The steps of a migration, compiled per engine from config and discovery. Pure: plan and apply both use it. */
import type { MigrationConfig } from '../config/types.js';
import { compileMysqlSteps, myResumePolicy, mysqlMigrationSteps } from './mysql/steps/compile.js';
import { compilePgSteps, pgResumePolicy } from './postgres/steps/compile.js';
import type { CompileInput } from './step-descriptions.js';
import type { ResumePolicy, Step } from './steps.js';

export function compileDatabaseSteps(input: CompileInput): Step[] {
  return input.cfg.engine === 'postgresql' ? compilePgSteps(input) : compileMysqlSteps(input);
}

/** Steps of the whole migration after every database's (MySQL online: the one replica and its cutover). */
export function compileMigrationSteps(cfg: MigrationConfig, replicated: string[]): Step[] {
  return cfg.engine === 'postgresql' ? [] : mysqlMigrationSteps(cfg, replicated);
}

export function resumePolicy(cfg: MigrationConfig, method: 'dump' | 'replication'): ResumePolicy {
  return cfg.engine === 'postgresql' ? pgResumePolicy(method) : myResumePolicy(method);
}
