/** `--metrics-addr`: the metrics server of a command, reading the migration from its state store. */
import type { MigrationConfig } from '../config/types.js';
import type { Engine } from '../engines/engine.js';
import type { MetricsServer } from '../run/metrics.js';
import { parseDuration } from '../util/sizes.js';
import type { Cli } from './io.js';

export async function startMetrics(cli: Cli, cfg: MigrationConfig, engine: Engine, addr: string): Promise<MetricsServer> {
  // prom-client is loaded only when metrics are asked for.
  const { serveMetrics } = await import('../run/metrics.js');
  const store = await engine.openStateStore(cfg);
  try {
    const server = await serveMetrics(addr, async () => {
      const migration = await store.getMigration(cfg.name);
      if (!migration) return null;
      const databases = await engine.liveDatabases(cfg, await store.getDatabases(cfg.name));
      // Finished tables are recorded one by one; the database record's count is saved less often.
      const done = new Map<string, number>();
      for (const t of await store.getTables(cfg.name)) if (t.done) done.set(t.dbname, (done.get(t.dbname) ?? 0) + 1);
      return {
        migration,
        databases: databases.map((d) => ({ ...d, tablesCompleted: Math.max(d.tablesCompleted, done.get(d.dbname) ?? 0) })),
      };
    });
    cli.info(`Serving Prometheus metrics at ${server.url}`);
    return {
      ...server,
      close: async () => {
        await server.close();
        await store.close().catch(() => undefined);
      },
    };
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
}

/** The write pause of each database in cutover output lines ("db: cut over; ...; writes had to be paused for 1.2s"). */
export function recordCutoverPauses(server: MetricsServer | undefined, migration: string, lines: string[]): void {
  for (const line of lines) {
    const m = /^(.+?): cut over;.*writes had to be paused for ([\d.]+(?:ms|s))$/.exec(line);
    const seconds = m ? parseDuration(m[2] as string) : undefined;
    if (m && seconds !== undefined) server?.setCutoverPause(migration, m[1] as string, seconds);
  }
}
