/** `dbferry validate [file]`: schema + semantic validation; touches no server. */
import type { Command } from 'commander';
import { formatOption, formatOptions, type SetAction } from '../command.js';
import { describeServer } from '../../config/connection.js';
import type { Cli } from '../io.js';
import { loadForCommand } from '../shared.js';

export async function validateCommand(cli: Cli, file: string | undefined): Promise<number> {
  // validate touches no server and needs no secret: unset ${VAR}s are notes.
  const loaded = loadForCommand(cli, file, { unsetVariablesAllowed: true });
  const c = loaded.config;
  if (cli.opts.json) {
    cli.json({
      valid: true,
      file: loaded.file,
      form: loaded.form,
      name: c.name,
      engine: c.engine,
      warnings: loaded.warnings,
    });
  } else {
    const form = loaded.form === 'canonical' ? '' : ` (${loaded.form === 'aiven' ? 'Aiven' : 'Azure'} form)`;
    cli.out(
      `${cli.style.green('✓')} ${file ?? 'migration.yaml'} is valid${form}: migration "${c.name}", ${c.engine} ${c.mode}, ${describeServer(c.source)} -> ${describeServer(c.target)}` +
        (loaded.warnings.length ? `, ${loaded.warnings.length} warning${loaded.warnings.length === 1 ? '' : 's'}` : '') +
        '\n',
    );
  }
  return 0;
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('validate')
    .description('check migration.yaml against the schema and the rules; touches no server')
    .argument('[file]', 'migration YAML', undefined)
    .addOption(formatOption('text, json, or github (annotations)', ['text', 'json', 'github']))
    .action((file: string | undefined, o: { format?: string }) => setAction((cli) => validateCommand(cli, file), formatOptions(o.format)));
}
