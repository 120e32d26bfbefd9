/** `dbferry import azure|aiven <input> [--out file]`: print a canonical migration.yaml. */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { importAiven, importAzure, type ImportOptions } from '../../config/import.js';
import { DbferryError } from '../../util/errors.js';
import type { Cli } from '../io.js';

export interface ImportCliOptions extends ImportOptions {
  out?: string;
  force?: boolean;
}

export async function importCommand(cli: Cli, kind: string, input: string, opts: ImportCliOptions): Promise<number> {
  if (kind !== 'azure' && kind !== 'aiven') {
    throw new DbferryError('USAGE', `import expects "azure" or "aiven", got "${kind}"`, { hint: 'dbferry import azure migrationBody.json | dbferry import aiven settings.sh' });
  }
  const path = resolve(cli.io.cwd, input);
  if (!existsSync(path)) throw new DbferryError('FILE_NOT_FOUND', `${input}: no such file`);
  if (statSync(path).isDirectory()) {
    throw new DbferryError('CONFIG_INVALID', `${input} is a directory`, { diagnostics: [{ file: input, line: 1, col: 1, severity: 'error', message: 'is a directory; expected a file' }] });
  }
  const buf = readFileSync(path);
  if (buf.includes(0)) {
    throw new DbferryError('CONFIG_INVALID', `${input} is not a text file`, { diagnostics: [{ file: input, line: 1, col: 1, severity: 'error', message: 'is a binary file' }] });
  }
  const text = buf.toString('utf8');
  const result = kind === 'azure' ? importAzure(input, text, opts) : importAiven(input, text, opts);
  if (opts.out) {
    const outPath = resolve(cli.io.cwd, opts.out);
    if (existsSync(outPath) && !opts.force) throw new DbferryError('USAGE', `${opts.out} already exists`, { hint: 'Pass --force to overwrite it.' });
    writeFileSync(outPath, result.yaml);
    cli.info(`Wrote ${opts.out}.`);
  } else {
    cli.out(result.yaml);
  }
  for (const n of result.notes) cli.info(`Note: ${n}`);
  return 0;
}
