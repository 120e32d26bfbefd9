/** The full dry run shared by `plan` and `apply`: discovery + pre-migration check -> Plan. */
import type { LoadedConfig } from '../config/types.js';
import { engineFor } from '../engines/index.js';
import type { CheckOutcome } from '../engines/checks.js';
import { buildPlan } from '../plan/build.js';
import type { Plan } from '../plan/types.js';
import { DbferryError } from '../util/errors.js';
import type { Cli } from './io.js';

export interface DiscoveredPlan {
  plan: Plan;
  outcome: CheckOutcome | null;
}

/**
 * Runs the check (unless the option is Migrate, which skips validation) and builds the plan with
 * its results and the method per database. A server that cannot be reached is a usage error
 * here (exit 2); `dbferry check` reports it as a failed check instead.
 */
export async function discoveredPlanWithChecks(cli: Cli, loaded: LoadedConfig, pgbin: string | undefined): Promise<DiscoveredPlan> {
  const cfg = loaded.config;
  const engine = await engineFor(cfg.engine);
  const skipCheck = cfg.option === 'Migrate';
  let outcome: CheckOutcome | null = null;
  let discovery;
  if (!skipCheck) {
    const run = await engine.check(cfg, {
      env: cli.io.env,
      ...(pgbin ? { pgbin } : {}),
      ...(cli.io.signal ? { signal: cli.io.signal } : {}),
    });
    const unreachable = run.outcome.checks.find((c) => /\.(source|target)\.connectivity$/.test(c.id) && c.result === 'Failed');
    if (unreachable) throw new DbferryError('CONNECTION_FAILED', unreachable.message, { hint: unreachable.hint });
    outcome = run.outcome;
    discovery = run.discovery;
  }
  discovery ??= await engine.discover(cfg, cli.io.signal);
  const checks = outcome ? outcome.checks.map(({ replication: _r, ...c }) => c) : null;
  return { plan: buildPlan({ loaded, discovery, checks, ...(outcome ? { decisions: outcome.decisions } : {}) }), outcome };
}

export async function discoveredPlan(cli: Cli, loaded: LoadedConfig, pgbin: string | undefined): Promise<Plan> {
  return (await discoveredPlanWithChecks(cli, loaded, pgbin)).plan;
}
