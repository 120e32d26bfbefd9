/** State records -> the status document (with the Aiven shape) and its text. Pure. */
import { formatBytes } from '../util/sizes.js';
import { PLAIN, table, type Style } from '../util/style.js';
import type { DatabaseRecord, MigrationRecord, ValidationRecord } from '../state/types.js';

export interface StatusDocument {
  name: string;
  engine: string;
  mode: string;
  option: string;
  state: string;
  substate: string;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  databases: {
    dbname: string;
    method: string;
    fallbackReason: string | null;
    status: string;
    tables: { total: number; queued: number; loading: number; completed: number; errored: number };
    bytes: { total: number; copied: number };
    cdc: { inserts: number; updates: number; deletes: number };
    lag: number | null;
    /** Online: when the target last heard from the source's replication. */
    lastChangeAt: string | null;
    error: string | null;
  }[];
  validations: { checkId: string; level: string; dbname: string; result: string; message: string; hint: string }[];
  /** Aiven `avn service migration-status` shape. */
  migration: { error: string | null; method: string; status: string; seconds_behind_master: number | null; source_active: boolean };
  migration_detail: { dbname: string; error: string | null; method: string; status: string }[];
}

function aivenStatus(m: MigrationRecord): string {
  if (m.state === 'Succeeded' || m.state === 'Canceled') return 'done';
  if (m.state === 'Failed' || m.state === 'ValidationFailed') return 'failed';
  if (m.substate === 'WaitingForCutoverTrigger') return 'syncing';
  return 'running';
}

function aivenMethod(engine: string, method: string): string {
  if (method === 'dump') return engine === 'mysql' ? 'mysqldump' : 'pg_dump';
  return method;
}

export function statusDocument(m: MigrationRecord, dbs: DatabaseRecord[], validations: ValidationRecord[]): StatusDocument {
  const methods = [...new Set(dbs.map((d) => aivenMethod(m.engine, d.method)))];
  const maxLag = dbs.reduce<number | null>((a, d) => (d.lag === null ? a : Math.max(a ?? 0, d.lag)), null);
  return {
    name: m.name,
    engine: m.engine,
    mode: m.mode,
    option: m.option,
    state: m.state,
    substate: m.substate,
    error: m.error,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    startedAt: m.startedAt,
    endedAt: m.endedAt,
    databases: dbs.map((d) => ({
      dbname: d.dbname,
      method: d.method,
      fallbackReason: d.fallbackReason,
      status: d.status,
      tables: {
        total: d.tablesTotal,
        queued: d.tablesQueued,
        loading: d.tablesLoading,
        completed: d.tablesCompleted,
        errored: d.tablesErrored,
      },
      bytes: { total: d.bytesTotal, copied: d.bytesCopied },
      cdc: { inserts: d.cdcInserts, updates: d.cdcUpdates, deletes: d.cdcDeletes },
      lag: d.lag,
      lastChangeAt: d.lastChangeAt ?? null,
      error: d.error,
    })),
    validations: validations.map((v) => ({
      checkId: v.checkId,
      level: v.level,
      dbname: v.dbname,
      result: v.result,
      message: v.message,
      hint: v.hint,
    })),
    migration: {
      error: m.error,
      method: methods.length === 1 ? (methods[0] as string) : '',
      status: aivenStatus(m),
      seconds_behind_master: m.engine === 'mysql' ? maxLag : null,
      source_active: true,
    },
    migration_detail: dbs.map((d) => ({
      dbname: d.dbname,
      error: d.error,
      method: aivenMethod(m.engine, d.method),
      status: d.status === 'done' ? 'done' : d.status === 'syncing' ? 'syncing' : d.status === 'failed' ? 'failed' : 'running',
    })),
  };
}

/** Checks whose message says which tables are carried at cutover rather than by replication. */
const CARRIED_AT_CUTOVER = ['pg.db.replica_identity', 'pg.db.unlogged_tables', 'pg.db.large_objects'];

function ago(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 1 ? 'just now' : `${s < 60 ? s.toFixed(0) + 's' : (s / 60).toFixed(0) + 'm'} ago`;
}

export function renderStatusText(doc: StatusDocument, s: Style = PLAIN): string {
  const stateColor = doc.state === 'Succeeded' ? s.green : doc.state === 'Failed' || doc.state === 'ValidationFailed' ? s.red : s.yellow;
  const out: string[] = [];
  out.push(`${s.bold(`Migration "${doc.name}"`)}  ${doc.engine} ${doc.mode} ${doc.option}`);
  out.push(`  state     ${stateColor(doc.state)} / ${doc.substate}`);
  out.push(`  created   ${doc.createdAt}`);
  out.push(`  updated   ${doc.updatedAt}${doc.endedAt ? `   ended ${doc.endedAt}` : ''}`);
  if (doc.error) out.push(`  error     ${s.red(doc.error)}`);
  if (doc.databases.length) {
    out.push('');
    out.push(
      table(
        ['DATABASE', 'METHOD', 'STATUS', 'TABLES done/total', 'DATA copied/total', 'LAG', 'CDC ins/upd/del'],
        doc.databases.map((d) => [
          d.dbname,
          d.method,
          d.status,
          `${d.tables.completed}/${d.tables.total}${d.tables.errored ? ` (${d.tables.errored} failed)` : ''}`,
          `${formatBytes(d.bytes.copied)}/${formatBytes(d.bytes.total)}`,
          d.lag === null ? '-' : doc.engine === 'mysql' ? `${d.lag}s` : formatBytes(d.lag),
          `${d.cdc.inserts}/${d.cdc.updates}/${d.cdc.deletes}`,
        ]),
      ),
    );
    for (const d of doc.databases) {
      if (d.lastChangeAt) out.push(`  ${d.dbname}: replication last heard from the source ${ago(d.lastChangeAt)}`);
      if (d.fallbackReason) out.push(`  ${d.dbname}: ${d.fallbackReason}`);
      if (d.error) out.push(`  ${d.dbname}: ${s.red(d.error)}`);
      // How the tables replication does not fully carry get to the target (recorded by the check).
      if (d.method === 'replication' && (d.status === 'syncing' || d.status === 'running')) {
        for (const v of doc.validations.filter(
          (x) => x.dbname === d.dbname && CARRIED_AT_CUTOVER.includes(x.checkId) && /cutover/.test(x.message),
        )) {
          out.push(`  ${d.dbname}: ${v.message}`);
        }
      }
    }
  }
  if (doc.validations.length) {
    const counts = { Succeeded: 0, Warning: 0, Failed: 0 } as Record<string, number>;
    for (const v of doc.validations) counts[v.result] = (counts[v.result] ?? 0) + 1;
    out.push('');
    out.push(`  validation: ${counts.Succeeded} succeeded, ${counts.Warning} warnings, ${counts.Failed} failed`);
  }
  return out.join('\n') + '\n';
}

export function renderListText(ms: MigrationRecord[], s: Style = PLAIN): string {
  if (ms.length === 0) return 'No migrations recorded on the target.\n';
  return (
    table(
      ['NAME', 'STATE', 'SUBSTATE', 'ENGINE', 'MODE', 'CREATED', 'UPDATED'],
      ms.map((m) => [s.bold(m.name), m.state, m.substate, m.engine, m.mode, m.createdAt, m.updatedAt]),
    ) + '\n'
  );
}
