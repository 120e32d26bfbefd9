/**
 * The dbferry command line: argument parsing (commander), global flags, exit codes. The only
 * place that knows about process.*; everything else receives a Cli.
 */
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { DbferryError } from '../util/errors.js';
import { redact } from '../util/redact.js';
import { Cli, type CliIo, type GlobalOptions, type RendererName } from './io.js';
import { reportError } from './shared.js';
import type { Probe } from '../util/probe.js';
import type { Action, CommandModule, SetAction } from './command.js';
// Each command module declares itself; the heavy parts (drivers, Listr, prom-client) load when a command runs.
import * as validate from './commands/validate.js';
import * as plan from './commands/plan.js';
import * as show from './commands/show.js';
import * as check from './commands/check.js';
import * as apply from './commands/apply.js';
import * as status from './commands/status.js';
import * as engineOp from './commands/engine-op.js';
import * as importCommand from './commands/import.js';

export const VERSION = '0.1.0';

/** In the order `dbferry --help` lists them: status adds list; engine-op adds cutover and cancel. */
const COMMANDS: CommandModule[] = [validate, plan, show, check, apply, status, engineOp, importCommand];

/** The program with its global flags (declared here only) and every command module's commands. */
export function buildProgram(io: CliIo, setAction: SetAction): Command {
  const program = new Command();
  program
    .name('dbferry')
    .description('Migrate PostgreSQL and MySQL databases between servers from a declarative migration.yaml.')
    .version(VERSION, '-V, --version')
    .option('--json', 'machine-readable output on stdout (logs and progress on stderr)', false)
    .option('-q, --quiet', 'only errors and results', false)
    .option('-v, --verbose', 'more detail', false)
    .option('--no-color', 'no colours (NO_COLOR is honoured too)')
    .addOption(new Option('--renderer <name>', 'progress renderer').choices(['default', 'simple', 'verbose']))
    .addOption(
      new Option('--log-format <format>', 'text, or json: one JSON object per event on stderr').choices(['text', 'json']).default('text'),
    )
    .showHelpAfterError('(run dbferry --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(redact(s)),
    });
  for (const command of COMMANDS) command.register(program, setAction);
  return program;
}

/** Runs the CLI; returns the exit code. Never calls process.exit. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let action: Action | undefined;
  let implied: Partial<GlobalOptions> = {};
  const program = buildProgram(io, (a, extra) => {
    action = a;
    implied = extra ?? {};
  });
  const fallback = new Cli(io, {
    json: argv.includes('--json'),
    quiet: false,
    verbose: false,
    color: !argv.includes('--no-color'),
    renderer: undefined,
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return e.exitCode === 0 ? 0 : 2;
    }
    return reportError(fallback, e);
  }
  if (!action) {
    program.outputHelp();
    return 2;
  }
  const g = program.opts<{
    json: boolean;
    quiet: boolean;
    verbose: boolean;
    color: boolean;
    renderer?: RendererName;
    logFormat: 'text' | 'json';
  }>();
  const opts: GlobalOptions = {
    json: g.json,
    quiet: g.quiet,
    verbose: g.verbose,
    color: g.color,
    renderer: g.renderer,
    logFormat: g.logFormat,
    ...implied,
  };
  const cli = new Cli(io, opts);
  try {
    return await action(cli);
  } catch (e) {
    if (e instanceof DbferryError && e.code === 'INTERRUPTED') {
      cli.error(e.message);
      if (e.hint) cli.info(e.hint);
      return 130;
    }
    return reportError(cli, e);
  } finally {
    for (const cleanup of cli.cleanups.splice(0)) await cleanup().catch(() => undefined);
  }
}

/** Entry point for bin/dbferry.js: wires the real process. */
export async function main(argv: string[], hooks: { probe?: Probe } = {}): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`\nReceived ${sig} again: exiting now; run \`dbferry apply\` again to resume.\n`);
      process.exit(130);
    }
    process.stderr.write(`\nReceived ${sig}: stopping (press Ctrl-C again to exit at once)...\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    ...(hooks.probe ? { probe: hooks.probe } : {}),
    signal: controller.signal,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    ...(interactive
      ? {
          confirm: async (q: string) => {
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            // readline holds the terminal in raw mode while asking: Ctrl-C reaches it, not the
            // process, so it is turned into the same abort a SIGINT gives.
            const asked = new AbortController();
            rl.once('SIGINT', () => {
              asked.abort();
              onSignal('SIGINT');
            });
            try {
              return (await rl.question(q, { signal: asked.signal })).trim() === 'yes';
            } catch (e) {
              if (asked.signal.aborted) return false;
              throw e;
            } finally {
              rl.close();
            }
          },
        }
      : {}),
  };
  if (argv.includes('--no-color')) process.env.NO_COLOR = '1';
  const code = await run(argv, io);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return controller.signal.aborted && code !== 0 ? 130 : code;
}
