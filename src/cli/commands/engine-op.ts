/** `dbferry cutover` and `dbferry cancel`: delegate to the engine, holding the migration's lock. */
import type { Command } from 'commander';
import { collectNames, type SetAction } from '../command.js';
import { engineFor } from '../../engines/index.js';
import { DbferryError, messageOf } from '../../util/errors.js';
import { createNotifier, type Notifier } from '../../run/notify.js';
import type { ListrTask } from 'listr2';
import type { MigrationConfig } from '../../config/types.js';
import type { Engine } from '../../engines/engine.js';
import type { MigrationRecord, StateStore } from '../../state/types.js';
import { runTasks } from '../../run/runner.js';
import type { LogFields } from '../../util/log-event.js';
import { recordCutoverPauses, startMetrics } from '../metrics.js';
import { chooseRenderer, ProgressStream, type Cli } from '../io.js';
import { loadAndConnect } from '../shared.js';
import { noProbe } from '../../util/probe.js';

type Op = 'cutover' | 'cancel';

/** Another apply, cutover or cancel of this migration holds its lock: refuse. */
async function lockMigration(store: StateStore, name: string): Promise<boolean> {
  if (!(await store.exists())) return false;
  if (await store.tryLock(name)) return true;
  throw new DbferryError('LOCKED', `another dbferry process is working on migration "${name}" (an apply, cutover or cancel)`, {
    hint: 'Stop it first (Ctrl-C), or wait for it to finish.',
  });
}

function notifyOutcome(notifier: Notifier, op: Op, name: string, m: MigrationRecord | undefined, lines: string[]): void {
  if (op === 'cancel')
    notifier.send({
      event: 'canceled',
      migration: name,
      state: m?.state ?? 'Canceled',
      substate: m?.substate ?? '?',
      text: `migration ${name} canceled`,
    });
  else if (m?.state === 'Succeeded')
    notifier.send({
      event: 'succeeded',
      migration: name,
      state: m.state,
      substate: m.substate,
      text: `migration ${name} cut over and succeeded: ${lines.join('; ')}`,
    });
}

function printOutcome(cli: Cli, op: Op, name: string, m: MigrationRecord | undefined, lines: string[]): void {
  cli.log({
    event: 'result',
    message: `${op}: ${m?.state ?? '?'} / ${m?.substate ?? '?'}`,
    state: m?.state ?? null,
    substate: m?.substate ?? null,
    details: lines,
  });
  if (cli.opts.json) return cli.json({ name, operation: op, state: m?.state ?? null, substate: m?.substate ?? null, details: lines });
  for (const l of lines) cli.out(`${l}\n`);
  if (m) cli.out(`Migration "${name}": ${m.state} / ${m.substate}\n`);
}

interface OpRun {
  cli: Cli;
  cfg: MigrationConfig;
  engine: Engine;
  store: StateStore;
  notifier: Notifier;
  op: Op;
  databases: string[];
  metricsAddr?: string | undefined;
}

/** The operation as one Listr2 task; returns the engine's lines. */
async function runOperation(x: OpRun): Promise<string[]> {
  const { cli, cfg, engine, store, op, databases } = x;
  let lines: string[] = [];
  const metrics = x.metricsAddr ? await startMetrics(cli, cfg, engine, x.metricsAddr) : undefined;
  // No signal for the runner: the engine watches it itself and stops at a safe point.
  const runner = {
    ...(cli.jsonLogs ? { log: (f: LogFields) => cli.log(f) } : {}),
    renderer: chooseRenderer(cli.opts, cli.io.stderr.isTTY === true, cli.io.env),
    output: new ProgressStream(cli.io.stderr),
  };
  const title = `${op === 'cutover' ? 'Cut over' : 'Cancel'} migration "${cfg.name}"${databases.length ? ` (${databases.join(', ')})` : ''}`;
  const task: ListrTask<object> = {
    title,
    task: async (_c, t) => {
      const report = (line: string): void => {
        t.output = line;
        cli.log({ event: 'progress', message: line });
      };
      try {
        const run = { cfg, store, databases, report, env: cli.io.env, probe: cli.io.probe ?? noProbe, signal: cli.io.signal };
        lines = op === 'cutover' ? await engine.cutover(run) : await engine.cancel(run);
        recordCutoverPauses(metrics, cfg.name, lines);
      } catch (e) {
        const failed = await store.getMigration(cfg.name).catch(() => undefined);
        x.notifier.send({
          event: 'failed',
          migration: cfg.name,
          state: failed?.state ?? '?',
          substate: failed?.substate ?? '?',
          text: `migration ${cfg.name}: ${op} failed: ${messageOf(e)}`,
          error: messageOf(e),
        });
        throw e;
      } finally {
        await metrics?.close();
      }
      t.title = `${title}: done`;
    },
    rendererOptions: { persistentOutput: true },
  };
  await runTasks([task], {}, runner);
  return lines;
}

export async function engineCommand(
  cli: Cli,
  file: string | undefined,
  op: Op,
  databases: string[],
  opts: { metricsAddr?: string } = {},
): Promise<number> {
  const loaded = await loadAndConnect(cli, file);
  const cfg = loaded.config;
  const engine = await engineFor(cfg.engine);
  if (op === 'cancel' && databases.length && !engine.capabilities.cancelSomeDatabases) {
    throw new DbferryError(
      'USAGE',
      `cancel --db is not available for ${cfg.engine}: one replica on the target serves every replicated database`,
      {
        hint: 'Cancel the whole migration: `dbferry cancel` without --db.',
      },
    );
  }
  const store = await engine.openStateStore(cfg);
  let locked = false;
  const notifier = createNotifier(cfg.notify.webhooks);
  try {
    locked = await lockMigration(store, cfg.name);
    const lines = await runOperation({ cli, cfg, engine, store, notifier, op, databases, metricsAddr: opts.metricsAddr });
    const m = await store.getMigration(cfg.name);
    notifyOutcome(notifier, op, cfg.name, m, lines);
    printOutcome(cli, op, cfg.name, m, lines);
    return 0;
  } finally {
    await notifier.flush();
    if (locked) await store.unlock(cfg.name).catch(() => undefined);
    await store.close();
  }
}

export function register(program: Command, setAction: SetAction): void {
  const dbHelp = 'only this database (repeat the option, or separate names with commas)';
  program
    .command('cutover')
    .description('online mode: wait for lag <= maxLag, sync sequences, stop replication, clean up')
    .argument('[file]', 'migration YAML')
    .option('--db <name>', dbHelp, collectNames, [])
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics while it runs')
    .action((file: string | undefined, o: { db?: string[]; metricsAddr?: string }) =>
      setAction((cli) => engineCommand(cli, file, 'cutover', o.db ?? [], o.metricsAddr ? { metricsAddr: o.metricsAddr } : {})),
    );
  program
    .command('cancel')
    .description('stop a migration and remove its replication objects on both sides')
    .argument('[file]', 'migration YAML')
    .option('--db <name>', dbHelp, collectNames, [])
    .action((file: string | undefined, o: { db?: string[] }) => setAction((cli) => engineCommand(cli, file, 'cancel', o.db ?? [])));
}
