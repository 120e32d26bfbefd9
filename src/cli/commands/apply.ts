/** `dbferry apply [file | plan.json] [--yes] [--json] [--wait]`. */
import type { Command } from 'commander';
import { PGBIN_FLAGS, PGBIN_HELP, type SetAction } from '../command.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { engineFor } from '../../engines/index.js';
import { buildPlan } from '../../plan/build.js';
import { renderPlanText } from '../../plan/render.js';
import type { Plan } from '../../plan/types.js';
import { applyMigration } from '../../run/apply.js';
import { DbferryError } from '../../util/errors.js';
import { redact } from '../../util/redact.js';
import { chooseRenderer, ProgressStream, type Cli } from '../io.js';
import { loadAndConnect } from '../shared.js';
import type { MigrationConfig } from '../../config/types.js';
import type { Engine } from '../../engines/engine.js';
import { formatBytes } from '../../util/sizes.js';
import { discoveredPlanWithChecks } from '../discovered-plan.js';
import { startMetrics } from '../metrics.js';
import { createNotifier, type Notifier } from '../../run/notify.js';
import type { LoadedConfig } from '../../config/types.js';
import type { LogFields } from '../../util/log-event.js';
import { noProbe } from '../../util/probe.js';

export interface ApplyOptions {
  yes?: boolean;
  /** HOST:PORT of a Prometheus /metrics endpoint while apply (and --wait) runs. */
  metricsAddr?: string;
  wait?: boolean;
  pgbin?: string;
}

export function readSavedPlan(cli: Cli, path: string): { plan: Plan; configFile: string } {
  const abs = resolve(cli.io.cwd, path);
  let plan: Plan;
  try {
    plan = JSON.parse(readFileSync(abs, 'utf8')) as Plan;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DbferryError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'USAGE',
      `${path}: ${code === 'ENOENT' ? 'no such file' : 'not a JSON plan file'}`,
      {
        hint: 'Save a plan with `dbferry plan --out plan.json`.',
      },
    );
  }
  if (plan?.format !== 'dbferry-plan' || plan.formatVersion !== 1) {
    throw new DbferryError('USAGE', `${path} is not a dbferry plan (expected "format": "dbferry-plan", formatVersion 1)`, {
      hint: 'Save a plan with `dbferry plan --out plan.json`.',
    });
  }
  return { plan, configFile: resolve(dirname(abs), plan.configFile) };
}

/** `apply --wait`: follow lag and change counters until the migration leaves replication or Ctrl-C. */
async function followReplication(cli: Cli, cfg: MigrationConfig, engine: Engine, notifier: Notifier): Promise<void> {
  let underMaxLag = false;
  cli.info('Following replication (Ctrl-C stops following; replication goes on until `dbferry cutover`).');
  const store = await engine.openStateStore(cfg);
  try {
    while (!cli.io.signal?.aborted) {
      const m = await store.getMigration(cfg.name);
      if (!m || m.substate !== 'WaitingForCutoverTrigger') {
        cli.info(`Migration "${cfg.name}": ${m?.state ?? '?'} / ${m?.substate ?? '?'}`);
        return;
      }
      const live = await engine.liveDatabases(cfg, await store.getDatabases(cfg.name));
      const syncing = live.filter((d) => d.status === 'syncing');
      // Once: every replicating database is within replication.maxLag, so cutover can start.
      if (!underMaxLag && syncing.length && syncing.every((d) => d.lag !== null && d.lag <= cfg.replication.maxLag)) {
        underMaxLag = true;
        notifier.send({
          event: 'lag_under_max',
          migration: cfg.name,
          state: m.state,
          substate: m.substate,
          text: `migration ${cfg.name}: lag within replication.maxLag, ready for dbferry cutover`,
          databases: syncing.map((d) => d.dbname),
        });
      }
      for (const d of live) {
        if (d.status === 'syncing')
          cli.info(
            `${d.dbname}: lag ${formatBytes(d.lag)}, changes ${d.cdcInserts} inserted / ${d.cdcUpdates} updated / ${d.cdcDeletes} deleted${d.error ? `; ${d.error}` : ''}`,
          );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        cli.io.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            resolve();
          },
          { once: true },
        );
      });
    }
  } finally {
    await store.close();
  }
}

export async function applyCommand(cli: Cli, arg: string | undefined, opts: ApplyOptions): Promise<number> {
  let saved: Plan | undefined;
  let file = arg;
  if (arg && arg.endsWith('.json')) {
    const r = readSavedPlan(cli, arg);
    saved = r.plan;
    file = r.configFile;
  }
  const loaded = await loadAndConnect(cli, file);
  const engine = await engineFor(loaded.config.engine);
  if (saved && saved.fingerprint.config !== buildPlan({ loaded, discovery: null, checks: null }).fingerprint.config) {
    throw new DbferryError(
      'STALE_PLAN',
      `the saved plan ${arg} no longer matches ${saved.configFile}: the configuration changed since it was planned`,
      {
        hint: 'Review the change with `dbferry plan`, then save a new plan.',
      },
    );
  }
  cli.info(cli.stderrStyle.dim(`Discovering ${loaded.config.engine} servers and running the pre-migration check (read-only)...`));
  const { plan, outcome } = await discoveredPlanWithChecks(cli, loaded, opts.pgbin);
  if (saved?.fingerprint.sourceSchema && saved.fingerprint.sourceSchema !== plan.fingerprint.sourceSchema) {
    throw new DbferryError('STALE_PLAN', `the saved plan ${arg} is stale: the source schema changed since it was planned`, {
      hint: 'Review the change with `dbferry plan`, then save a new plan.',
    });
  }
  if (cli.jsonLogs)
    cli.log({
      event: 'plan',
      message: plan.summary.text,
      databases: plan.databases.map((d) => ({ name: d.name, method: d.method, action: d.action })),
    });
  else if (!cli.opts.quiet) cli.io.stderr.write(redact(renderPlanText(plan, cli.stderrStyle)));
  if (!opts.yes && !saved) {
    if (!cli.io.confirm) {
      throw new DbferryError('USAGE', 'apply needs confirmation: run it in a terminal, or pass --yes', {
        hint: 'In scripts and CI use `dbferry apply --yes` (or apply a reviewed plan file).',
      });
    }
    if (!(await cli.io.confirm('Do you want to perform these actions? Only "yes" will be accepted: '))) {
      cli.info('Apply cancelled; nothing was changed.');
      return 1;
    }
  }
  const metrics = opts.metricsAddr ? await startMetrics(cli, loaded.config, engine, opts.metricsAddr) : undefined;
  const notifier = createNotifier(loaded.config.notify.webhooks);
  try {
    return await runApply(cli, { loaded, plan, outcome, engine, opts, notifier });
  } finally {
    await metrics?.close();
    await notifier.flush();
  }
}

interface ApplyRun {
  loaded: LoadedConfig;
  plan: Plan;
  outcome: Awaited<ReturnType<typeof discoveredPlanWithChecks>>['outcome'];
  engine: Engine;
  opts: ApplyOptions;
  notifier: Notifier;
}

async function runApply(cli: Cli, { loaded, plan, outcome, engine, opts, notifier }: ApplyRun): Promise<number> {
  const result = await applyMigration({
    loaded,
    plan,
    outcome,
    engine,
    notifier,
    env: cli.io.env,
    probe: cli.io.probe ?? noProbe,
    ...(opts.pgbin ? { pgbin: opts.pgbin } : {}),
    runner: {
      ...(cli.jsonLogs ? { log: (f: LogFields) => cli.log(f) } : {}),
      renderer: chooseRenderer(cli.opts, cli.io.stderr.isTTY === true, cli.io.env),
      output: new ProgressStream(cli.io.stderr),
      ...(cli.io.signal ? { signal: cli.io.signal } : {}),
    },
  });
  if (cli.opts.json)
    cli.json({
      name: result.migration.name,
      state: result.migration.state,
      substate: result.migration.substate,
      resumed: result.resumed,
      steps: result.steps,
    });
  else if (cli.jsonLogs)
    cli.log({
      event: 'result',
      message: `${result.migration.state} / ${result.migration.substate}`,
      state: result.migration.state,
      substate: result.migration.substate,
    });
  else cli.info(`Migration "${result.migration.name}": ${result.migration.state} / ${result.migration.substate}`);
  if (opts.wait && result.migration.substate === 'WaitingForCutoverTrigger') await followReplication(cli, loaded.config, engine, notifier);
  return result.migration.state === 'Failed' || result.migration.state === 'ValidationFailed' ? 1 : 0;
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('apply')
    .description('run the migration (from migration.yaml or a saved plan.json)')
    .argument('[file]', 'migration YAML or saved plan JSON')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--wait', 'online mode: stay and follow the lag until cutover (Ctrl-C stops following)')
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while it runs (port 0: a free port)')
    .option(PGBIN_FLAGS, PGBIN_HELP)
    .action((file: string | undefined, o: ApplyOptions) => setAction((cli) => applyCommand(cli, file, o)));
}
