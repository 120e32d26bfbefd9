/**
 * Prometheus metrics (`--metrics-addr HOST:PORT` on apply, status --watch and cutover): an HTTP
 * server whose /metrics reads the migration's recorded state (and the live replication figures)
 * at each scrape, in the Prometheus text format (prom-client).
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { DbferryError } from '../util/errors.js';
import type { DatabaseRecord, MigrationRecord } from '../state/types.js';

export interface MetricsSnapshot {
  migration: MigrationRecord;
  databases: DatabaseRecord[];
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  /** The cutover's write pause of a database, once measured. */
  setCutoverPause(migration: string, database: string, seconds: number): void;
  close(): Promise<void>;
}

/** HOST:PORT (port 0: any free port); IPv6 hosts in brackets. */
export function parseMetricsAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(addr.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new DbferryError('USAGE', `--metrics-addr must be HOST:PORT (e.g. 127.0.0.1:9187), got "${addr}"`, {
      hint: 'Port 0 picks a free port.',
    });
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

function instruments(registry: Registry) {
  const labels = ['migration', 'database'] as const;
  const g = (name: string, help: string, labelNames: readonly string[] = labels) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    state: g('dbferry_migration_state', 'The migration state and substate (1 for the current pair).', ['migration', 'state', 'substate']),
    status: g('dbferry_database_status', 'Per database: 1 for its current status (waiting, running, syncing, done, failed, canceled).', [
      'migration',
      'database',
      'status',
    ]),
    tables: g('dbferry_tables', 'Tables whose data the migration copies.'),
    tablesCopied: g('dbferry_tables_copied', 'Tables copied so far.'),
    bytes: g('dbferry_data_bytes', 'Size of the data to copy (source estimate), in bytes.'),
    bytesCopied: g('dbferry_copied_bytes', 'Bytes copied so far.'),
    rate: g('dbferry_copy_rate_bytes_per_second', 'Copy rate between the last two scrapes, in bytes per second.'),
    lagBytes: g('dbferry_replication_lag_bytes', 'PostgreSQL: WAL the target has not confirmed yet, in bytes.'),
    lagSeconds: g('dbferry_replication_lag_seconds', 'MySQL/MariaDB: seconds the replica is behind the source.'),
    lastHeard: g('dbferry_replication_last_heard_seconds', 'Seconds since the target last heard from the source.'),
    verifyFailed: g('dbferry_verify_failed', '1 when the verify of a database found a difference.'),
    pause: g('dbferry_cutover_write_pause_seconds', 'How long writes had to be paused at cutover, in seconds.'),
    changes: new Counter({
      name: 'dbferry_replication_changes_applied_total',
      help: 'Rows inserted, updated and deleted on the target by replication.',
      labelNames: ['migration', 'database', 'operation'],
      registers: [registry],
    }),
  };
}

type Instruments = ReturnType<typeof instruments>;

/** Sets every metric from one snapshot; counters and the rate advance from the previous one. */
function record(
  m: Instruments,
  snap: MetricsSnapshot,
  previous: Map<string, { at: number; bytes: number; cdc: number[] }>,
  now: number,
): void {
  const migration = snap.migration.name;
  m.state.reset();
  m.state.set({ migration, state: snap.migration.state, substate: snap.migration.substate }, 1);
  m.status.reset();
  for (const d of snap.databases) {
    const l = { migration, database: d.dbname };
    m.status.set({ ...l, status: d.status }, 1);
    m.tables.set(l, d.tablesTotal);
    m.tablesCopied.set(l, d.tablesCompleted);
    m.bytes.set(l, d.bytesTotal);
    m.bytesCopied.set(l, d.bytesCopied);
    const before = previous.get(d.dbname);
    const cdc = [d.cdcInserts, d.cdcUpdates, d.cdcDeletes];
    if (before && now > before.at) m.rate.set(l, Math.max(0, (d.bytesCopied - before.bytes) / ((now - before.at) / 1000)));
    ['insert', 'update', 'delete'].forEach((operation, i) => {
      const delta = (cdc[i] ?? 0) - (before?.cdc[i] ?? 0);
      // A counter only moves forward: a lower figure (a new baseline) starts counting again from it.
      m.changes.inc({ ...l, operation }, delta >= 0 ? delta : (cdc[i] ?? 0));
    });
    previous.set(d.dbname, { at: now, bytes: d.bytesCopied, cdc });
    if (d.lag !== null) (snap.migration.engine === 'mysql' ? m.lagSeconds : m.lagBytes).set(l, d.lag);
    if (d.lastChangeAt) m.lastHeard.set(l, Math.max(0, (now - Date.parse(d.lastChangeAt)) / 1000));
    m.verifyFailed.set(l, d.error !== null && /verify failed/.test(d.error) ? 1 : 0);
  }
}

/** Starts the server; each scrape calls `collect` (null: the migration is not recorded yet). */
export async function serveMetrics(addr: string, collect: () => Promise<MetricsSnapshot | null>): Promise<MetricsServer> {
  const { host, port } = parseMetricsAddr(addr);
  const registry = new Registry();
  const m = instruments(registry);
  const up = new Gauge({ name: 'dbferry_up', help: '1 when the last scrape could read the migration state.', registers: [registry] });
  const previous = new Map<string, { at: number; bytes: number; cdc: number[] }>();
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('see /metrics\n');
      return;
    }
    void (async () => {
      try {
        const snap = await collect();
        if (snap) record(m, snap, previous, Date.now());
        up.set(snap ? 1 : 0);
      } catch {
        up.set(0);
      }
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new DbferryError('USAGE', `--metrics-addr ${addr}: cannot listen (${(e as NodeJS.ErrnoException).code ?? e.message})`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof bound === 'object' && bound ? bound.port : port}/metrics`;
  return {
    url,
    setCutoverPause: (migration, database, seconds) => m.pause.set({ migration, database }, seconds),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
