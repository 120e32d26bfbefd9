/** `dbferry cutover` and `dbferry cancel`: delegate to the engine, holding the migration's lock. */
import { engineFor } from '../../engines/index.js';
import { DbferryError, messageOf } from '../../util/errors.js';
import { createNotifier } from '../../run/notify.js';
import { runTasks } from '../../run/runner.js';
import type { LogFields } from '../../util/log-event.js';
import { recordCutoverPauses, startMetrics } from '../metrics.js';
import { chooseRenderer, ProgressStream, type Cli } from '../io.js';
import { loadAndConnect } from '../shared.js';
import { noProbe } from '../../util/probe.js';

export async function engineCommand(
  cli: Cli,
  file: string | undefined,
  op: 'cutover' | 'cancel',
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
    if (await store.exists()) {
      locked = await store.tryLock(cfg.name);
      if (!locked) {
        throw new DbferryError('LOCKED', `another dbferry process is working on migration "${cfg.name}" (an apply, cutover or cancel)`, {
          hint: 'Stop it first (Ctrl-C), or wait for it to finish.',
        });
      }
    }
    let lines: string[] = [];
    const metrics = opts.metricsAddr ? await startMetrics(cli, cfg, engine, opts.metricsAddr) : undefined;
    // No signal for the runner: the engine watches it itself and stops at a safe point.
    const runner = {
      ...(cli.jsonLogs ? { log: (f: LogFields) => cli.log(f) } : {}),
      renderer: chooseRenderer(cli.opts, cli.io.stderr.isTTY === true, cli.io.env),
      output: new ProgressStream(cli.io.stderr),
    };
    const title = `${op === 'cutover' ? 'Cut over' : 'Cancel'} migration "${cfg.name}"${databases.length ? ` (${databases.join(', ')})` : ''}`;
    await runTasks(
      [
        {
          title,
          task: async (_c, task) => {
            try {
              const report = (line: string): void => {
                task.output = line;
                cli.log({ event: 'progress', message: line });
              };
              const run = { cfg, store, databases, report, env: cli.io.env, probe: cli.io.probe ?? noProbe, signal: cli.io.signal };
              lines = op === 'cutover' ? await engine.cutover(run) : await engine.cancel(run);
              recordCutoverPauses(metrics, cfg.name, lines);
            } catch (e) {
              const failed = await store.getMigration(cfg.name).catch(() => undefined);
              notifier.send({
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
            task.title = `${title}: done`;
          },
          rendererOptions: { persistentOutput: true },
        },
      ],
      {},
      runner,
    );
    const m = await store.getMigration(cfg.name);
    if (op === 'cancel')
      notifier.send({
        event: 'canceled',
        migration: cfg.name,
        state: m?.state ?? 'Canceled',
        substate: m?.substate ?? '?',
        text: `migration ${cfg.name} canceled`,
      });
    else if (m?.state === 'Succeeded')
      notifier.send({
        event: 'succeeded',
        migration: cfg.name,
        state: m.state,
        substate: m.substate,
        text: `migration ${cfg.name} cut over and succeeded: ${lines.join('; ')}`,
      });
    cli.log({
      event: 'result',
      message: `${op}: ${m?.state ?? '?'} / ${m?.substate ?? '?'}`,
      state: m?.state ?? null,
      substate: m?.substate ?? null,
      details: lines,
    });
    if (cli.opts.json) cli.json({ name: cfg.name, operation: op, state: m?.state ?? null, substate: m?.substate ?? null, details: lines });
    else {
      for (const l of lines) cli.out(`${l}\n`);
      if (m) cli.out(`Migration "${cfg.name}": ${m.state} / ${m.substate}\n`);
    }
    return 0;
  } finally {
    await notifier.flush();
    if (locked) await store.unlock(cfg.name).catch(() => undefined);
    await store.close();
  }
}
