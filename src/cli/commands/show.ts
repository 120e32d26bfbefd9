/** `dbferry show plan.json [--format text|markdown|json]`: renders a saved plan; connects to nothing. */
import type { Cli } from '../io.js';
import { readSavedPlan } from './apply.js';
import { printPlan, type PlanFormat } from './plan.js';

export async function showCommand(cli: Cli, file: string, opts: { format?: PlanFormat }): Promise<number> {
  const { plan } = readSavedPlan(cli, file);
  printPlan(cli, plan, opts.format);
  return 0;
}
