/** Helpers shared by the commands: config loading, error reporting. */
import { isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, loadConfigFile } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { DbferryError, messageOf, type Diagnostic } from '../util/errors.js';
import { redact } from '../util/redact.js';
import type { Cli } from './io.js';

export const DEFAULT_FILE = 'migration.yaml';

/** The config path as the user typed it when it resolves from the process cwd, else absolute. */
export function configPath(cli: Cli, file: string | undefined): string {
  const f = file ?? DEFAULT_FILE;
  if (isAbsolute(f) || cli.io.cwd === process.cwd()) return f;
  return resolve(cli.io.cwd, f);
}

export function loadForCommand(cli: Cli, file: string | undefined, opts: { unsetVariablesAllowed?: boolean } = {}): LoadedConfig {
  const loaded = loadConfigFile(configPath(cli, file), { env: cli.io.env, ...opts });
  cli.migration = loaded.config.name;
  for (const w of loaded.warnings) diagnostic(cli, w);
  return loaded;
}

/**
 * Opens the SSH tunnels the config asks for; returns what closes them, or undefined when it asks
 * for none. ssh2 is loaded only then, so no other command pays for it at start-up.
 */
async function openConfiguredTunnels(cli: Cli, config: LoadedConfig['config']): Promise<(() => Promise<void>) | undefined> {
  if (!config.source.ssh && !config.target.ssh) return undefined;
  const { openTunnels } = await import('../run/ssh-tunnel.js');
  return openTunnels(config, cli.io.env);
}

/** Loads the config of a command that connects: SSH tunnels are opened, and closed when the command ends. */
export async function loadAndConnect(cli: Cli, file: string | undefined): Promise<LoadedConfig> {
  const loaded = loadForCommand(cli, file);
  const close = await openConfiguredTunnels(cli, loaded.config);
  if (close) cli.cleanups.push(close);
  return loaded;
}

/** Runs fn with the config's SSH tunnels open, closing them after (commands that repeat, like --watch). */
export async function withTunnels<T>(cli: Cli, config: LoadedConfig['config'], fn: () => Promise<T>): Promise<T> {
  const close = await openConfiguredTunnels(cli, config);
  try {
    return await fn();
  } finally {
    await close?.();
  }
}

/** A diagnostic: a `file:line:col: message` line, a structured event with --log-format json, an annotation on GitHub. */
function diagnostic(cli: Cli, d: Diagnostic): void {
  if (cli.jsonLogs)
    cli.log({
      level: d.severity === 'error' ? 'error' : 'warn',
      event: 'diagnostic',
      message: d.message,
      file: d.file,
      line: d.line,
      col: d.col,
    });
  else if (d.severity === 'error' || !cli.opts.quiet) cli.io.stderr.write(redact(formatDiagnostic(d)) + '\n');
  cli.annotate(d);
}

/** Prints an error the way every command does, and returns its exit code. */
export function reportError(cli: Cli, e: unknown): number {
  if (e instanceof DbferryError) {
    for (const d of e.diagnostics) diagnostic(cli, d);
    if (e.diagnostics.length === 0) cli.annotate({ severity: 'error', message: e.message });
    if (cli.jsonLogs)
      cli.log({ level: 'error', event: 'error', message: e.message, code: e.code, hint: e.hint ?? null, exitCode: e.exitCode });
    else {
      cli.error(e.message);
      if (e.hint) cli.info(`${cli.stderrStyle.dim('Hint:')} ${e.hint}`);
    }
    if (cli.opts.json) {
      cli.json({ error: { code: e.code, message: e.message, hint: e.hint ?? null, diagnostics: e.diagnostics } });
    }
    return e.exitCode;
  }
  const msg = messageOf(e);
  cli.error(`unexpected error: ${msg.split('\n')[0]}`);
  cli.info('This is a bug in dbferry; run with DBFERRY_DEBUG=1 for details and report it.');
  if (cli.io.env.DBFERRY_DEBUG && e instanceof Error && e.stack) cli.io.stderr.write(redact(e.stack) + '\n');
  if (cli.opts.json) cli.json({ error: { code: 'INTERNAL', message: msg, hint: null, diagnostics: [] } });
  return 1;
}
