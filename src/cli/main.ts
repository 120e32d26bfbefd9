/**
 * The dbferry command line: argument parsing (commander), global flags, exit codes. The only
 * place that knows about process.*; everything else receives a Cli.
 */
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { DbferryError } from '../util/errors.js';
import { redact } from '../util/redact.js';
// Commands are loaded when they run: each pulls in only the libraries it needs.
const commands = {
  apply: () => import('./commands/apply.js'),
  check: () => import('./commands/check.js'),
  import: () => import('./commands/import.js'),
  engineOp: () => import('./commands/engine-op.js'),
  plan: () => import('./commands/plan.js'),
  show: () => import('./commands/show.js'),
  status: () => import('./commands/status.js'),
  validate: () => import('./commands/validate.js'),
};
import { Cli, type CliIo, type GlobalOptions, type RendererName } from './io.js';
import { reportError } from './shared.js';
import type { Probe } from '../util/probe.js';

export const VERSION = '0.1.0';

/** Repeatable, comma-separated option values (one value per option, so the file argument is never swallowed). */
function collectNames(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

type Action = (cli: Cli) => Promise<number>;

/** A command's --format, as the global options it implies (json output, GitHub annotations). */
function formatOptions(format: string | undefined): Partial<GlobalOptions> {
  return format === 'json' ? { json: true } : format === 'github' ? { github: true } : {};
}

export function buildProgram(io: CliIo, setAction: (a: Action, implied?: Partial<GlobalOptions>) => void): Command {
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

  program
    .command('validate')
    .description('check migration.yaml against the schema and the rules; touches no server')
    .argument('[file]', 'migration YAML', undefined)
    .addOption(new Option('--format <format>', 'text, json, or github (annotations)').choices(['text', 'json', 'github']))
    .action((file: string | undefined, o: { format?: string }) =>
      setAction(async (cli) => (await commands.validate()).validateCommand(cli, file), formatOptions(o.format)),
    );

  program
    .command('plan')
    .description('dry run: what apply would do (connects read-only unless --offline)')
    .argument('[file]', 'migration YAML')
    .option('--offline', 'plan from the config alone, without connecting')
    .option('--out <plan.json>', 'save the plan (redacted, with fingerprints) for `apply plan.json`')
    .option('--watch', 're-plan on every save of the YAML until Ctrl-C')
    .option('--pgbin <dir>', 'directory of pg_dump (default: PATH, then /usr/lib/postgresql/*/bin)')
    .addOption(
      new Option('--format <format>', 'text, markdown (a pull-request comment), json, or github (text plus annotations)').choices([
        'text',
        'markdown',
        'json',
        'github',
      ]),
    )
    .option('--detailed-exitcode', 'exit 0 when there is nothing to do, 2 when there are changes, 1 on errors (as terraform)')
    .action(
      (
        file: string | undefined,
        o: {
          offline?: boolean;
          out?: string;
          watch?: boolean;
          pgbin?: string;
          format?: 'text' | 'markdown' | 'json' | 'github';
          detailedExitcode?: boolean;
        },
      ) => setAction(async (cli) => (await commands.plan()).planCommand(cli, file, o), formatOptions(o.format)),
    );

  program
    .command('show')
    .description('render a saved plan (plan --out plan.json) without connecting to any server')
    .argument('<plan.json>', 'saved plan')
    .addOption(new Option('--format <format>', 'text, markdown or json').choices(['text', 'markdown', 'json']))
    .action((file: string, o: { format?: 'text' | 'markdown' | 'json' }) =>
      setAction(async (cli) => (await commands.show()).showCommand(cli, file, o)),
    );

  program
    .command('check')
    .description('pre-migration check (migration option Validate); read-only, results recorded on the target')
    .argument('[file]', 'migration YAML')
    .addOption(new Option('--format <format>', 'text, json, or github (annotations)').choices(['text', 'json', 'github']))
    .option('--pgbin <dir>', 'directory of pg_dump (default: PATH, then /usr/lib/postgresql/*/bin)')
    .action((file: string | undefined, o: { pgbin?: string; format?: string }) =>
      setAction(async (cli) => (await commands.check()).checkCommand(cli, file, o), formatOptions(o.format)),
    );

  program
    .command('apply')
    .description('run the migration (from migration.yaml or a saved plan.json)')
    .argument('[file]', 'migration YAML or saved plan JSON')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--wait', 'online mode: stay and follow the lag until cutover (Ctrl-C stops following)')
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while it runs (port 0: a free port)')
    .option('--pgbin <dir>', 'directory of pg_dump (default: PATH, then /usr/lib/postgresql/*/bin)')
    .action((file: string | undefined, o: { yes?: boolean; wait?: boolean; pgbin?: string; metricsAddr?: string }) =>
      setAction(async (cli) => (await commands.apply()).applyCommand(cli, file, o)),
    );

  program
    .command('status')
    .description('state, substate and per-database progress of a migration')
    .argument('[file]', 'migration YAML')
    .option('--name <name>', 'migration name (default: the name in the YAML)')
    .option('--watch', 'refresh until the migration ends or Ctrl-C')
    .option('--metrics-addr <host:port>', 'with --watch: serve Prometheus metrics at http://HOST:PORT/metrics')
    .action((file: string | undefined, o: { name?: string; watch?: boolean; metricsAddr?: string }) =>
      setAction(async (cli) => (await commands.status()).statusCommand(cli, file, o)),
    );

  program
    .command('list')
    .description('migrations recorded on the target')
    .argument('[file]', 'migration YAML')
    .addOption(new Option('--filter <which>', 'active or all').choices(['active', 'all']).default('all'))
    .action((file: string | undefined, o: { filter: string }) =>
      setAction(async (cli) => (await commands.status()).listCommand(cli, file, o.filter)),
    );

  program
    .command('cutover')
    .description('online mode: wait for lag <= maxLag, sync sequences, stop replication, clean up')
    .argument('[file]', 'migration YAML')
    .option('--db <name>', 'only this database (repeat the option, or separate names with commas)', collectNames, [])
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while it runs')
    .action((file: string | undefined, o: { db?: string[]; metricsAddr?: string }) =>
      setAction(async (cli) =>
        (await commands.engineOp()).engineCommand(cli, file, 'cutover', o.db ?? [], o.metricsAddr ? { metricsAddr: o.metricsAddr } : {}),
      ),
    );

  program
    .command('cancel')
    .description('stop a migration and remove its replication objects on both sides')
    .argument('[file]', 'migration YAML')
    .option('--db <name>', 'only this database (repeat the option, or separate names with commas)', collectNames, [])
    .action((file: string | undefined, o: { db?: string[] }) =>
      setAction(async (cli) => (await commands.engineOp()).engineCommand(cli, file, 'cancel', o.db ?? [])),
    );

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
    .action((kind: string, input: string | undefined, o: Record<string, unknown>) =>
      setAction(async (cli) =>
        (await commands.import()).importCommand(cli, kind, input, {
          ...(o.out !== undefined ? { out: String(o.out) } : {}),
          ...(o.force ? { force: true } : {}),
          ...(o.name !== undefined ? { name: String(o.name) } : {}),
          ...(o.targetHost !== undefined ? { targetHost: String(o.targetHost) } : {}),
          ...(o.targetPort !== undefined ? { targetPort: Number(o.targetPort) } : {}),
          ...(o.targetUser !== undefined ? { targetUser: String(o.targetUser) } : {}),
        }),
      ),
    );
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
