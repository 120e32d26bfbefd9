/** `dbferry plan [file] [--offline] [--out plan.json] [--json] [--watch]`: the dry run. */
import type { Command } from 'commander';
import { formatOption, formatOptions, PGBIN_FLAGS, PGBIN_HELP, type SetAction } from '../command.js';
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { buildPlan } from '../../plan/build.js';
import { discoveredPlan } from '../discovered-plan.js';
import { renderPlanJson, renderPlanText } from '../../plan/render.js';
import { planHasChanges, renderPlanMarkdown } from '../../plan/markdown.js';
import type { Plan } from '../../plan/types.js';
import type { LoadedConfig } from '../../config/types.js';
import { redact, redactValue } from '../../util/redact.js';
import type { Cli } from '../io.js';
import { configPath, loadForCommand, reportError, withTunnels } from '../shared.js';

export type PlanFormat = 'text' | 'markdown' | 'json' | 'github';

export interface PlanOptions {
  offline?: boolean;
  format?: PlanFormat;
  /** terraform's convention: 0 nothing to do, 1 error, 2 changes pending. */
  detailedExitcode?: boolean;
  out?: string;
  watch?: boolean;
  pgbin?: string;
}

export async function computePlan(cli: Cli, file: string | undefined, opts: PlanOptions): Promise<{ plan: Plan; loaded: LoadedConfig }> {
  // plan --offline connects to nothing, so, like validate, it needs no secret.
  const loaded = loadForCommand(cli, file, { unsetVariablesAllowed: opts.offline === true });
  if (opts.offline) return { plan: buildPlan({ loaded, discovery: null, checks: null }), loaded };
  cli.info(cli.stderrStyle.dim(`Discovering ${loaded.config.engine} servers and running the pre-migration check (read-only)...`));
  // Tunnels live as long as one discovery: plan --watch opens fresh ones per round.
  return { plan: await withTunnels(cli, loaded.config, () => discoveredPlan(cli, loaded, opts.pgbin)), loaded };
}

function emit(cli: Cli, plan: Plan, opts: PlanOptions): number {
  if (opts.out) {
    const target = resolve(cli.io.cwd, opts.out);
    writeFileSync(target, redact(renderPlanJson(redactValue(plan))), { mode: 0o644 });
    cli.info(`Saved the plan to ${opts.out}; run \`dbferry apply ${opts.out}\` to execute exactly this plan.`);
  }
  printPlan(cli, plan, opts.format);
  const failed = plan.summary.blocked > 0 || (plan.checks ?? []).some((c) => c.result === 'Failed');
  if (failed) return 1;
  return opts.detailedExitcode && planHasChanges(plan) ? 2 : 0;
}

/** The plan on stdout in the chosen format; with annotations, its failed checks and warnings too. */
export function printPlan(cli: Cli, plan: Plan, format: PlanFormat | undefined): void {
  const f = format ?? (cli.opts.json ? 'json' : 'text');
  if (f === 'json') cli.out(renderPlanJson(plan));
  else if (f === 'markdown') cli.out(renderPlanMarkdown(plan));
  else cli.out(renderPlanText(plan, cli.style));
  for (const c of plan.checks ?? []) {
    if (c.result !== 'Succeeded')
      cli.annotate({
        file: plan.configFile,
        severity: c.result === 'Failed' ? 'error' : 'warning',
        message: `${c.id}${c.database ? ` [${c.database}]` : ''}: ${c.message}${c.hint ? ` (${c.hint})` : ''}`,
      });
  }
}

export async function planCommand(cli: Cli, file: string | undefined, opts: PlanOptions): Promise<number> {
  if (!opts.watch) return emit(cli, (await computePlan(cli, file, opts)).plan, opts);
  return watchPlan(cli, file, opts);
}

async function watchPlan(cli: Cli, file: string | undefined, opts: PlanOptions): Promise<number> {
  const path = resolve(cli.io.cwd, configPath(cli, file));
  let watched = new Set<string>([path]);
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const { watch } = await import('chokidar');
  const watcher = watch(dirname(path), { ignoreInitial: true, depth: 0, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 } });
  const once = async (): Promise<void> => {
    // Clear the screen (cursor home, erase display) for the new plan; the scrollback keeps the old one.
    if (cli.io.stdout.isTTY && !cli.opts.json) cli.out('\u001b[H\u001b[2J');
    try {
      const { plan, loaded } = await computePlan(cli, file, opts);
      emit(cli, plan, opts);
      const fresh = loaded.referencedFiles.filter((f) => !watched.has(f));
      watched = new Set([path, ...loaded.referencedFiles]);
      if (fresh.length) watcher.add(fresh);
    } catch (e) {
      reportError(cli, e);
    }
    cli.info(cli.stderrStyle.dim(`Watching ${file ?? 'migration.yaml'} for changes (Ctrl-C to stop)...`));
  };
  watcher.on('all', (_event, changed) => {
    if (!watched.has(resolve(changed))) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(once);
    }, 150);
  });
  await new Promise<void>((r) => watcher.once('ready', () => r()));
  running = running.then(once);
  await running;
  await new Promise<void>((resolveWait) => {
    if (cli.io.signal?.aborted) return resolveWait();
    cli.io.signal?.addEventListener('abort', () => resolveWait(), { once: true });
  });
  if (timer) clearTimeout(timer);
  await watcher.close();
  return 130;
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('plan')
    .description('dry run: what apply would do (connects read-only unless --offline)')
    .argument('[file]', 'migration YAML')
    .option('--offline', 'plan from the config alone, without connecting')
    .option('--out <plan.json>', 'save the plan (redacted, with fingerprints) for `apply plan.json`')
    .option('--watch', 're-plan on every save of the YAML until Ctrl-C')
    .option(PGBIN_FLAGS, PGBIN_HELP)
    .addOption(
      formatOption('text, markdown (a pull-request comment), json, or github (text plus annotations)', [
        'text',
        'markdown',
        'json',
        'github',
      ]),
    )
    .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when there are changes, 1 on errors (as terraform)')
    .action((file: string | undefined, o: PlanOptions) => setAction((cli) => planCommand(cli, file, o), formatOptions(o.format)));
}
