/**
 * From the schema-valid raw canonical object to the MigrationConfig: defaults, connection
 * resolution, sizes, table references, and the rules a schema cannot express. Every problem is
 * collected with the canonical path it concerns. Pure.
 */
import { describeServer, parseUri, resolveConnection, sameServer, type ConnectionIssue, type RawConnection } from './connection.js';
import type { RawCanonical } from './forms.js';
import { parseTableRef } from './identifiers.js';
import { isPattern, nameMatches } from './patterns.js';
import type { ConnectionConfig, Engine, MigrationConfig, MigrationOption, Method, Mode, TableRef, VerifyMode } from './types.js';
import { parseDuration, parseSize } from '../util/sizes.js';

export interface SemanticIssue {
  path: (string | number)[];
  what: 'key' | 'value';
  severity: 'error' | 'warning';
  message: string;
}

export interface SemanticInput {
  raw: RawCanonical;
  env: Readonly<Record<string, string | undefined>>;
  pgpassText: string | undefined;
}

type Path = (string | number)[];
type Report = (path: Path, message: string, what?: 'key' | 'value') => void;

/** What every step of buildConfig reads, and where it reports the problems it finds. */
interface BuildContext extends SemanticInput {
  engine: Engine;
  issues: SemanticIssue[];
  err: Report;
  warn: Report;
}

export function buildConfig(input: SemanticInput): { config: MigrationConfig; issues: SemanticIssue[] } {
  const { raw } = input;
  const issues: SemanticIssue[] = [];
  const report =
    (severity: SemanticIssue['severity']): Report =>
    (path, message, what = 'value') => {
      issues.push({ path, what, severity, message });
    };
  const err = report('error');
  const c: BuildContext = { ...input, engine: engineOf(raw, err), issues, err, warn: report('warning') };
  const { source, target } = connectionsOf(c);
  const { mode, option, method, cutover } = runModeOf(c);
  const databases = databasesOf(c);
  const tables = tablesOf(c, databases.include);
  warnPostgresOnlyKeys(c);
  const maxLag = maxLagOf(c);
  const split = splitTablesLargerThanOf(c);
  checkNoSchemasForMysql(c);
  const maxRate = maxRateOf(c);
  const pauseWhen = pauseWhenOf(c);
  const sampleAbove = raw.verifySampleAbove === undefined ? 64 * 1024 ** 2 : parseSize(raw.verifySampleAbove);
  if (sampleAbove === undefined) err(['verifySampleAbove'], 'verifySampleAbove must be a size such as 1GB');
  const cutoverDatabases = cutoverDatabasesOf(c, databases.include, cutover);
  const { engine } = c;
  const config: MigrationConfig = {
    version: 1,
    name: raw.name ?? '',
    engine,
    mode,
    option,
    method,
    source,
    target,
    databases,
    roles: { migrate: engine === 'postgresql' && (raw.roles?.migrate ?? true), exclude: raw.roles?.exclude ?? [] },
    schemas: { include: raw.schemas?.include ?? [], exclude: raw.schemas?.exclude ?? [] },
    tables,
    extensions: { exclude: raw.extensions?.exclude ?? [] },
    replication: { maxLag, replicaIdentityFull: raw.replication?.replicaIdentityFull ?? false },
    cutover,
    cutoverDatabases,
    notify: { webhooks: raw.notify?.webhooks ?? [] },
    cancel: raw.cancel ?? { requested: false, databases: [] },
    copy: { jobs: raw.copy?.jobs ?? 4, splitTablesLargerThan: split, maxRate, pauseWhen },
    verify: (raw.verify ?? 'auto') as VerifyMode,
    verifySampleAbove: sampleAbove ?? 64 * 1024 ** 2,
  };
  return { config, issues };
}

function schemeEngine(c: RawConnection | undefined): Engine | undefined {
  if (!c?.uri) return undefined;
  const p = parseUri(c.uri);
  return p.ok ? p.value.engine : undefined;
}

/** Engine: explicit, or from a URI scheme, else postgresql. */
function engineOf(raw: RawCanonical, err: Report): Engine {
  const srcScheme = schemeEngine(raw.source);
  const tgtScheme = schemeEngine(raw.target);
  const engine: Engine = (raw.engine as Engine | undefined) ?? srcScheme ?? tgtScheme ?? 'postgresql';
  if (raw.engine !== undefined) {
    if (srcScheme && srcScheme !== raw.engine) err(['engine'], `engine is ${raw.engine} but source.uri is a ${srcScheme} URI`);
    if (tgtScheme && tgtScheme !== raw.engine) err(['engine'], `engine is ${raw.engine} but target.uri is a ${tgtScheme} URI`);
  } else if (srcScheme && tgtScheme && srcScheme !== tgtScheme) {
    err(['target', 'uri'], `source.uri is ${srcScheme} but target.uri is ${tgtScheme}; dbferry migrates between servers of one engine`);
  }
  return engine === 'mysql' ? 'mysql' : 'postgresql';
}

/** Source and target resolved (URI, fields, environment, .pgpass), with what is odd about their SSL and dbname. */
function connectionsOf(c: BuildContext): { source: ConnectionConfig; target: ConnectionConfig } {
  const { raw, engine, env, pgpassText, err, warn } = c;
  const conn = (role: 'source' | 'target') => {
    const r = resolveConnection({ raw: raw[role] ?? {}, engine, env, pgpassText });
    for (const i of r.issues as ConnectionIssue[]) {
      c.issues.push({ path: [role, i.key], what: 'value', severity: i.severity, message: `${role}.${i.message}` });
    }
    return r.conn;
  };
  const source = conn('source');
  const target = conn('target');
  if (sameServer(source, target)) {
    err(['target'], `source and target are the same server (${describeServer(target)}); dbferry copies between two servers`, 'key');
  }
  for (const role of ['source', 'target'] as const) {
    const s = role === 'source' ? source : target;
    if ((s.ssl === 'verify-ca' || s.ssl === 'verify-full') && !s.sslrootcert) {
      warn([role, 'ssl'], `${role}.ssl is ${s.ssl} without sslrootcert: the server certificate is checked against the system CA store`);
    }
    if (s.sslrootcert && (s.ssl === 'disable' || s.ssl === 'allow' || s.ssl === 'prefer')) {
      warn(
        [role, 'sslrootcert'],
        `${role}.sslrootcert is set but ssl is ${s.ssl}, which does not verify the certificate; use verify-ca or verify-full`,
      );
    }
    if (engine === 'mysql' && raw[role]?.dbname !== undefined) {
      warn([role, 'dbname'], `${role}.dbname is ignored for MySQL (select databases with databases.include)`);
    }
  }
  return { source, target };
}

/** mode, option, method and cutover, and the combinations that contradict each other. */
function runModeOf({ raw, err }: BuildContext): { mode: Mode; option: MigrationOption; method: Method; cutover: boolean } {
  const mode = (raw.mode ?? 'offline') as Mode;
  const option = (raw.option ?? 'ValidateAndMigrate') as MigrationOption;
  const method = (raw.method ?? 'auto') as Method;
  if (method === 'replication' && mode === 'offline') {
    err(['method'], 'method replication needs mode: online (an offline migration is a one-time copy)');
  }
  const cutover = raw.cutover ?? false;
  if (cutover && mode !== 'online') err(['cutover'], 'cutover: true only applies to mode: online (an offline migration has no cutover)');
  return { mode, option, method, cutover };
}

function databasesOf({ raw, err }: BuildContext): MigrationConfig['databases'] {
  const include = raw.databases?.include ?? [];
  const exclude = raw.databases?.exclude ?? [];
  exclude.forEach((db, i) => {
    if (include.includes(db)) err(['databases', 'exclude', i], `database "${db}" is both included and excluded`);
  });
  let maxTotalSize: number | null = null;
  if (raw.databases?.maxTotalSize !== undefined && raw.databases.maxTotalSize !== null) {
    const n = parseSize(raw.databases.maxTotalSize);
    if (n === undefined) err(['databases', 'maxTotalSize'], 'databases.maxTotalSize must be a size such as 500GB');
    else maxTotalSize = n;
  }
  return { include, exclude, overwrite: raw.databases?.overwrite ?? false, maxTotalSize };
}

/** tables.include and tables.skip parsed into references. */
function tablesOf({ raw, engine, err, warn }: BuildContext, include: string[]): MigrationConfig['tables'] {
  // Without a server validate cannot know what a pattern matches, but a table entry naming a
  // database that databases.include (all names written out) does not select matches nothing.
  const literalIncludes = include.length > 0 && include.every((d) => !isPattern(d));
  const refs = (key: 'include' | 'skip'): TableRef[] => {
    const out: TableRef[] = [];
    (raw.tables?.[key] ?? []).forEach((text, i) => {
      const r = parseTableRef(text, engine);
      if (!r.ok) return err(['tables', key, i], `tables.${key} entry "${text}" ${r.error}`);
      out.push(r.value);
      const db = r.value.db;
      if (db !== undefined && literalIncludes && !include.some((d) => nameMatches(db, d, r.value.quoted?.db))) {
        warn(
          ['tables', key, i],
          `tables.${key} entry "${text}" names database "${db}", which databases.include does not select: it matches nothing`,
        );
      }
    });
    return out;
  };
  const tInclude = refs('include');
  const tSkip = refs('skip');
  (raw.tables?.skip ?? []).forEach((t, i) => {
    if ((raw.tables?.include ?? []).includes(t)) err(['tables', 'skip', i], `table "${t}" is both in tables.include and tables.skip`);
  });
  return { include: tInclude, skip: tSkip };
}

function warnPostgresOnlyKeys({ raw, engine, warn }: BuildContext): void {
  if (engine !== 'mysql') return;
  if (raw.extensions?.exclude?.length) warn(['extensions'], 'extensions apply to PostgreSQL only; ignored for MySQL', 'key');
  if (raw.roles !== undefined) warn(['roles'], 'roles apply to PostgreSQL only; ignored for MySQL (users are not migrated)', 'key');
  if (raw.replication?.replicaIdentityFull) warn(['replication', 'replicaIdentityFull'], 'replicaIdentityFull applies to PostgreSQL only');
}

/** replication.maxLag: bytes of WAL for PostgreSQL, seconds for MySQL. */
function maxLagOf({ raw, engine, err }: BuildContext): number {
  const lagRaw = raw.replication?.maxLag;
  if (engine === 'postgresql') {
    const n =
      lagRaw === undefined
        ? 1024 * 1024
        : typeof lagRaw === 'string' && /(ms|s|m|h)\s*$/.test(lagRaw) && !/b\s*$/i.test(lagRaw)
          ? undefined
          : parseSize(lagRaw);
    if (n === undefined)
      err(['replication', 'maxLag'], `replication.maxLag for PostgreSQL is bytes of WAL, e.g. 1MB; got ${JSON.stringify(lagRaw)}`);
    return n ?? 1024 * 1024;
  }
  const n = lagRaw === undefined ? 5 : typeof lagRaw === 'string' && /b\s*$/i.test(lagRaw) ? undefined : parseDuration(lagRaw);
  if (n === undefined)
    err(
      ['replication', 'maxLag'],
      `replication.maxLag for MySQL is seconds behind the source, e.g. 5 or 5s; got ${JSON.stringify(lagRaw)}`,
    );
  return n ?? 5;
}

function splitTablesLargerThanOf({ raw, err }: BuildContext): number {
  const split = raw.copy?.splitTablesLargerThan === undefined ? 2 * 1024 ** 3 : parseSize(raw.copy.splitTablesLargerThan);
  if (split === undefined) err(['copy', 'splitTablesLargerThan'], 'copy.splitTablesLargerThan must be a size such as 2GB');
  return split ?? 2 * 1024 ** 3;
}

function checkNoSchemasForMysql({ raw, engine, err }: BuildContext): void {
  if (engine === 'mysql' && (raw.schemas?.include?.length || raw.schemas?.exclude?.length))
    err(['schemas'], 'schemas applies to PostgreSQL; in MySQL a schema is a database: use databases.include / exclude');
}

function maxRateOf({ raw, err }: BuildContext): number | null {
  if (raw.copy?.maxRate === undefined || raw.copy.maxRate === null) return null;
  const n = parseSize(raw.copy.maxRate);
  if (n === undefined || n <= 0) {
    err(['copy', 'maxRate'], 'copy.maxRate must be a size per second such as 50MB');
    return null;
  }
  return n;
}

function pauseWhenOf({ raw, engine, err }: BuildContext): MigrationConfig['copy']['pauseWhen'] {
  const pw = raw.copy?.pauseWhen ?? {};
  let standbyLagAbove: number | null = null;
  if (pw.standbyLagAbove !== undefined && pw.standbyLagAbove !== null) {
    const n = parseSize(pw.standbyLagAbove);
    if (n === undefined) err(['copy', 'pauseWhen', 'standbyLagAbove'], 'copy.pauseWhen.standbyLagAbove must be a size such as 1GB');
    else standbyLagAbove = n;
  }
  const pauseWhen = { sourceConnectionsAbove: pw.sourceConnectionsAbove ?? null, standbyLagAbove };
  if (engine === 'mysql' && (pauseWhen.sourceConnectionsAbove !== null || standbyLagAbove !== null)) {
    err(['copy', 'pauseWhen'], 'copy.pauseWhen is available for PostgreSQL sources; use copy.maxRate to protect a MySQL source');
  }
  return pauseWhen;
}

/** Azure dbsToTriggerCutoverOn: databases that are migrated, and only with triggerCutover. */
function cutoverDatabasesOf({ raw, err, warn }: BuildContext, include: string[], cutover: boolean): string[] {
  const cutoverDatabases = raw.cutoverDatabases ?? [];
  cutoverDatabases.forEach((db, i) => {
    if (include.length && !include.includes(db))
      err(['cutoverDatabases', i], `database "${db}" is set to cut over but is not in the databases to migrate`);
  });
  if (cutoverDatabases.length && !cutover)
    warn(['cutoverDatabases'], 'dbsToTriggerCutoverOn is set but triggerCutover is not true; it has no effect until cutover is triggered');
  return cutoverDatabases;
}
