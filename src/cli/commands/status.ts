/** `dbferry status [file] [--name N] [--json] [--watch]` and `dbferry list [file] [--filter]`. */
import { Option, type Command } from 'commander';
import type { SetAction } from '../command.js';
import { engineFor } from '../../engines/index.js';
import { ACTIVE_STATES } from '../../state/types.js';
import { renderListText, renderStatusText, statusDocument, type StatusDocument } from '../../run/status-view.js';
import { DbferryError } from '../../util/errors.js';
import type { Cli } from '../io.js';
import type { LoadedConfig } from '../../config/types.js';
import { Redrawer } from '../redraw.js';
import { startMetrics } from '../metrics.js';
import { loadAndConnect, loadForCommand, withTunnels } from '../shared.js';

export interface StatusOptions {
  name?: string;
  watch?: boolean;
  interval?: number;
  /** HOST:PORT of a Prometheus /metrics endpoint while --watch runs. */
  metricsAddr?: string;
}

async function readStatus(cli: Cli, file: string | undefined, opts: StatusOptions): Promise<StatusDocument> {
  const loaded = loadForCommand(cli, file);
  return withTunnels(cli, loaded.config, () => readStatusOf(loaded, opts));
}

async function readStatusOf(loaded: LoadedConfig, opts: StatusOptions): Promise<StatusDocument> {
  const name = opts.name ?? loaded.config.name;
  const store = await (await engineFor(loaded.config.engine)).openStateStore(loaded.config);
  try {
    const m = await store.getMigration(name);
    if (!m) {
      throw new DbferryError('NOT_FOUND', `no migration named "${name}" is recorded on the ${store.location}`, {
        hint: '`dbferry list` shows the migrations recorded there; `dbferry apply` starts this one.',
      });
    }
    const engine = await engineFor(loaded.config.engine);
    const dbs = await engine.liveDatabases(loaded.config, await store.getDatabases(name));
    return statusDocument(m, dbs, await store.getValidations(name));
  } finally {
    await store.close();
  }
}

export async function statusCommand(cli: Cli, file: string | undefined, opts: StatusOptions): Promise<number> {
  const show = (doc: StatusDocument) => (cli.opts.json ? cli.json(doc) : cli.out(renderStatusText(doc, cli.style)));
  const exitFor = (doc: StatusDocument) => (doc.state === 'Failed' || doc.state === 'ValidationFailed' ? 1 : 0);
  if (!opts.watch && !opts.metricsAddr) {
    const doc = await readStatus(cli, file, opts);
    show(doc);
    return exitFor(doc);
  }
  if (opts.metricsAddr && !opts.watch) throw new DbferryError('USAGE', '--metrics-addr goes with --watch (a single status ends at once)');
  const loaded = await loadAndConnect(cli, file);
  const metrics = opts.metricsAddr
    ? await startMetrics(
        cli,
        { ...loaded.config, name: opts.name ?? loaded.config.name },
        await engineFor(loaded.config.engine),
        opts.metricsAddr,
      )
    : undefined;
  try {
    return await watchStatus(cli, file, opts, show, exitFor);
  } finally {
    await metrics?.close();
  }
}

async function watchStatus(
  cli: Cli,
  file: string | undefined,
  opts: StatusOptions,
  show: (doc: StatusDocument) => void,
  exitFor: (doc: StatusDocument) => number,
): Promise<number> {
  const signal = cli.io.signal;
  const screen = new Redrawer({
    write: (s: string) => cli.out(s),
    isTTY: cli.io.stdout.isTTY === true && !cli.opts.json,
    ...(cli.io.stdout.columns ? { columns: cli.io.stdout.columns } : {}),
  });
  for (;;) {
    const doc = await readStatus(cli, file, opts);
    if (cli.opts.json) show(doc);
    else screen.draw(renderStatusText(doc, cli.style));
    if (!ACTIVE_STATES.includes(doc.state as never)) return exitFor(doc);
    const stopped = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), (opts.interval ?? 2) * 1000);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve(true);
        },
        { once: true },
      );
    });
    if (stopped) return 130;
  }
}

export async function listCommand(cli: Cli, file: string | undefined, filter: string): Promise<number> {
  if (filter !== 'active' && filter !== 'all') {
    throw new DbferryError('USAGE', `--filter must be active or all, got "${filter}"`);
  }
  const loaded = await loadAndConnect(cli, file);
  const store = await (await engineFor(loaded.config.engine)).openStateStore(loaded.config);
  try {
    const ms = await store.listMigrations(filter);
    if (cli.opts.json) cli.json({ location: store.location, filter, migrations: ms.map((m) => ({ ...m, plan: undefined })) });
    else cli.out(renderListText(ms, cli.style));
    return 0;
  } finally {
    await store.close();
  }
}

export function register(program: Command, setAction: SetAction): void {
  program
    .command('status')
    .description('state, substate and per-database progress of a migration')
    .argument('[file]', 'migration YAML')
    .option('--name <name>', 'migration name (default: the name in the YAML)')
    .option('--watch', 'refresh until the migration ends or Ctrl-C')
    .option('--metrics-addr <host:port>', 'with --watch: serve Prometheus metrics at http://HOST:PORT/metrics')
    .action((file: string | undefined, o: StatusOptions) => setAction((cli) => statusCommand(cli, file, o)));
  program
    .command('list')
    .description('migrations recorded on the target')
    .argument('[file]', 'migration YAML')
    .addOption(new Option('--filter <which>', 'active or all').choices(['active', 'all']).default('all'))
    .action((file: string | undefined, o: { filter: string }) => setAction((cli) => listCommand(cli, file, o.filter)));
}
