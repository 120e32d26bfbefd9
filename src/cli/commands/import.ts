/** `dbferry import azure|aiven <input> [--out file]`: print a canonical migration.yaml. */
import type { Command } from 'commander';
import type { SetAction } from '../command.js';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { detectImportKind, importAiven, importAzure, type ImportOptions } from '../../config/import.js';
import { DbferryError } from '../../util/errors.js';
import type { Cli } from '../io.js';

export interface ImportCliOptions extends ImportOptions {
  out?: string;
  force?: boolean;
}

const USAGE_HINT =
  'dbferry import azure properties.json | dbferry import aiven settings.yaml (or the avn command in a file) | - reads standard input';

async function readInput(cli: Cli, input: string): Promise<string> {
  if (input === '-') {
    if (!cli.io.readStdin) throw new DbferryError('USAGE', 'import -: standard input is not available here', { hint: USAGE_HINT });
    return cli.io.readStdin();
  }
  const path = resolve(cli.io.cwd, input);
  if (!existsSync(path)) throw new DbferryError('FILE_NOT_FOUND', `${input}: no such file`, { hint: USAGE_HINT });
  if (statSync(path).isDirectory()) {
    throw new DbferryError('CONFIG_INVALID', `${input} is a directory`, {
      diagnostics: [{ file: input, line: 1, col: 1, severity: 'error', message: 'is a directory; expected a file' }],
    });
  }
  const buf = readFileSync(path);
  if (buf.includes(0)) {
    throw new DbferryError('CONFIG_INVALID', `${input} is not a text file`, {
      diagnostics: [{ file: input, line: 1, col: 1, severity: 'error', message: 'is a binary file' }],
    });
  }
  return buf.toString('utf8');
}

/** `import <kind> <input>`, or `import <input>` with the kind recognised from the content. */
export async function importCommand(cli: Cli, first: string, second: string | undefined, opts: ImportCliOptions): Promise<number> {
  const kindGiven = second !== undefined || first === 'azure' || first === 'aiven';
  if (second !== undefined && first !== 'azure' && first !== 'aiven') {
    throw new DbferryError('USAGE', `import expects "azure" or "aiven" as its kind, got "${first}"`, { hint: USAGE_HINT });
  }
  if (kindGiven && second === undefined)
    throw new DbferryError('USAGE', `import ${first}: which input? Give a file, or - for standard input`, { hint: USAGE_HINT });
  const input = second ?? first;
  const text = await readInput(cli, input);
  const kind = kindGiven ? (first as 'azure' | 'aiven') : detectImportKind(text);
  if (!kind) {
    throw new DbferryError(
      'USAGE',
      `import ${input}: cannot tell whether this is Azure migration properties or Aiven migration settings; name the kind`,
      { hint: USAGE_HINT },
    );
  }
  const label = input === '-' ? '<stdin>' : input;
  const result = kind === 'azure' ? importAzure(label, text, opts) : importAiven(label, text, opts);
  if (opts.out) {
    const outPath = resolve(cli.io.cwd, opts.out);
    if (existsSync(outPath) && !opts.force)
      throw new DbferryError('USAGE', `${opts.out} already exists`, { hint: 'Pass --force to overwrite it.' });
    writeFileSync(outPath, result.yaml);
    cli.info(`Wrote ${opts.out}.`);
  } else {
    cli.out(result.yaml);
  }
  for (const n of result.notes) cli.info(`Note: ${n}`);
  return 0;
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('import')
    .description('convert Azure migration properties or Aiven migration settings into a canonical migration.yaml')
    .argument('<kind-or-input>', 'azure or aiven (optional: recognised from the input)')
    .argument('[input]', 'Azure properties JSON, or Aiven settings (YAML/JSON or the avn command); - for standard input')
    .option('--out <file>', 'write the YAML to a file instead of stdout')
    .option('--force', 'overwrite --out if it exists')
    .option('--name <name>', 'migration name')
    .option('--target-host <host>', 'target host')
    .option('--target-port <port>', 'target port', (v) => Number(v))
    .option('--target-user <user>', 'target user')
    .action((kind: string, input: string | undefined, o: ImportCliOptions) =>
      setAction((cli) => importCommand(cli, kind, input, definedOnly(o))),
    );
}

/** Commander leaves unset options undefined; the import options are exact optional properties. */
function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
