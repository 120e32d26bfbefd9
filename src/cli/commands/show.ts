/** `dbferry show plan.json [--format text|markdown|json]`: renders a saved plan; connects to nothing. */
import type { Command } from 'commander';
import { formatOption, type SetAction } from '../command.js';
import type { Cli } from '../io.js';
import { readSavedPlan } from './apply.js';
import { printPlan, type PlanFormat } from './plan.js';

export async function showCommand(cli: Cli, file: string, opts: { format?: PlanFormat }): Promise<number> {
  const { plan } = readSavedPlan(cli, file);
  printPlan(cli, plan, opts.format);
  return 0;
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('show')
    .description('render a saved plan (plan --out plan.json) without connecting to any server')
    .argument('<plan.json>', 'saved plan')
    .addOption(formatOption('text, markdown or json', ['text', 'markdown', 'json']))
    .action((file: string, o: { format?: PlanFormat }) => setAction((cli) => showCommand(cli, file, o)));
}
