/** `dbferry check [file] [--pgbin DIR]`: the pre-migration check (migration option Validate). */
import type { Command } from 'commander';
import { formatOption, formatOptions, PGBIN_FLAGS, PGBIN_HELP, type SetAction } from '../command.js';
import { engineFor } from '../../engines/index.js';
import { summarize } from '../../engines/checks.js';
import { configFingerprint } from '../../plan/fingerprint.js';
import { checkDocument, renderCheckText } from '../../run/check-view.js';
import { recordValidation } from '../../run/validation.js';
import { messageOf } from '../../util/errors.js';
import type { Cli } from '../io.js';
import { loadAndConnect } from '../shared.js';

export interface CheckCliOptions {
  pgbin?: string;
}

export async function checkCommand(cli: Cli, file: string | undefined, opts: CheckCliOptions): Promise<number> {
  const loaded = await loadAndConnect(cli, file);
  const cfg = loaded.config;
  const engine = await engineFor(cfg.engine);
  cli.info(cli.stderrStyle.dim(`Checking ${cfg.engine} servers (read-only)...`));
  const run = await engine.check(cfg, {
    env: cli.io.env,
    ...(opts.pgbin ? { pgbin: opts.pgbin } : {}),
    ...(cli.io.signal ? { signal: cli.io.signal } : {}),
  });
  const targetReachable = !run.outcome.checks.some((c) => c.id.endsWith('.target.connectivity') && c.result === 'Failed');
  if (targetReachable) {
    try {
      const store = await engine.openStateStore(cfg);
      try {
        await recordValidation(store, cfg, configFingerprint(cfg), run.outcome);
        cli.verbose(`Recorded the results on the ${store.location}.`);
      } finally {
        await store.close();
      }
    } catch (e) {
      cli.warn(`the results could not be recorded on the target: ${messageOf(e)}`);
    }
  }
  if (cli.opts.json) cli.json(checkDocument(cfg.name, cfg.engine, run.outcome));
  else cli.out(renderCheckText(cfg.name, run.outcome, cli.style));
  for (const c of run.outcome.checks) {
    if (c.result !== 'Succeeded')
      cli.annotate({
        file: file ?? 'migration.yaml',
        severity: c.result === 'Failed' ? 'error' : 'warning',
        message: `${c.id}${c.database ? ` [${c.database}]` : ''}: ${c.message}${c.hint ? ` (${c.hint})` : ''}`,
      });
  }
  // A server that cannot be reached is exit 2 in every command (plan, apply, status say so too).
  if (run.outcome.checks.some((c) => c.id.endsWith('.connectivity') && c.result === 'Failed')) return 2;
  return summarize(run.outcome.checks).failed > 0 ? 1 : 0;
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('check')
    .description('pre-migration check (migration option Validate); read-only, results recorded on the target')
    .argument('[file]', 'migration YAML')
    .addOption(formatOption('text, json, or github (annotations)', ['text', 'json', 'github']))
    .option(PGBIN_FLAGS, PGBIN_HELP)
    .action((file: string | undefined, o: CheckCliOptions & { format?: string }) =>
      setAction((cli) => checkCommand(cli, file, o), formatOptions(o.format)),
    );
}
