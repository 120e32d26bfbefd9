/** Config (+ discovered facts + check results) -> Plan. Pure and deterministic. */
import { SAMPLE_RANGES, tableVerify } from '../engines/verify-policy.js';
import { tableRefMatches } from '../config/identifiers.js';
import { selectionOf } from '../engines/selection.js';
import { nameMatches } from '../config/patterns.js';
import { keylessPublicationName, replicationObjectName, replicationPrefix } from '../engines/postgres/replication-sql.js';
import { describeServer } from '../config/connection.js';
import type { LoadedConfig, MigrationConfig } from '../config/types.js';
import type { Discovery, SourceDatabaseFacts } from '../engines/engine.js';
import { formatBytes } from '../util/sizes.js';
import { configFingerprint } from './fingerprint.js';
import type { Plan, PlanCheck, PlanDatabase, PlanStep, PlannedMethod, StepKind } from './types.js';
import { basename } from 'node:path';

export interface MethodDecision {
  method: 'dump' | 'replication';
  reason: string;
}

export interface PlanInput {
  loaded: LoadedConfig;
  discovery: Discovery | null;
  checks: PlanCheck[] | null;
  /** Per database, when the check decided `auto`. */
  decisions?: Record<string, MethodDecision>;
}

export function configuredMethod(cfg: MigrationConfig): { method: PlannedMethod; reason: string } {
  if (cfg.mode === 'offline') return { method: 'dump', reason: 'mode offline: a one-time consistent copy' };
  if (cfg.method === 'dump') return { method: 'dump', reason: 'method: dump (configured); changes after the copy are not replicated' };
  if (cfg.method === 'replication') return { method: 'replication', reason: 'method: replication (configured)' };
  return { method: 'auto', reason: 'auto (decided at check): replication where its prerequisites pass, else dump' };
}

function tableRefsFor(cfg: MigrationConfig, db: string, key: 'skip' | 'include'): string[] {
  return cfg.tables[key].filter((t) => t.db === undefined || nameMatches(t.db, db, t.quoted?.db)).map((t) => t.text);
}

type TableFacts = NonNullable<SourceDatabaseFacts['tableNames']>;

function stepsFor(
  cfg: MigrationConfig,
  db: string,
  method: PlannedMethod,
  action: PlanDatabase['action'],
  tables?: TableFacts,
): PlanStep[] {
  const pg = cfg.engine === 'postgresql';
  const out: PlanStep[] = [];
  const add = (kind: StepKind, description: string): void => {
    out.push({ id: `${db}:${kind}`, kind, database: db, description });
  };
  const repl = method === 'replication' || method === 'auto';
  const only = method === 'auto' ? ' (if replication)' : '';
  const skip = tableRefsFor(cfg, db, 'skip');
  const include = tableRefsFor(cfg, db, 'include');
  const dbName = db === '*' ? 'each selected database' : `database "${db}"`;
  if (action === 'resume') add('create-database', `resume database "${db}" where the earlier run stopped`);
  else if (action === 'overwrite') add('create-database', `drop and recreate database "${db}" on the target (databases.overwrite: true)`);
  else if (action === 'reuse-empty') add('create-database', `use the existing empty database "${db}" on the target`);
  else
    add(
      'create-database',
      `create ${dbName} on the target with the source's ${pg ? 'encoding and collation' : 'character set and collation'}`,
    );
  if (pg) {
    add('schema-pre-data', 'create schemas, types, functions and tables (pg_dump --section=pre-data)');
    if (repl) {
      // The real names, from the function apply uses (a database not known yet: its pattern).
      const name = db === '*' ? `${replicationPrefix(cfg.name)}<database>` : replicationObjectName(cfg.name, db);
      const keyless = db === '*' ? `${name}_k` : keylessPublicationName(name);
      add(
        'publication',
        `create publications ${name} (tables with a key) and ${keyless} (inserts of tables without one) on the source${only}`,
      );
      add('slot-snapshot', `create logical replication slot ${name} with an exported snapshot${only}`);
    }
  } else {
    add('schema-pre-data', 'create tables from SHOW CREATE TABLE (foreign key checks off)');
  }
  const filters = [include.length ? `only ${include.join(', ')}` : '', skip.length ? `skipping data of ${skip.join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
  add(
    'copy-data',
    `copy table data in parallel (${cfg.copy.jobs} jobs) on one consistent snapshot, largest tables first${cfg.copy.maxRate ? `, at most ${formatBytes(cfg.copy.maxRate)}/s read from the source (copy.maxRate)` : ''}${pauseText(cfg)}${filters ? `; ${filters}` : ''}`,
  );
  if (pg) {
    add('schema-post-data', 'build indexes, constraints and triggers as each table finishes; foreign keys last');
    add('sequences', "set sequences to the source's values");
    add('large-objects', 'copy large objects');
    add('analyze', 'ANALYZE the copied tables');
    if (repl) {
      add('subscription', `create subscription on the target from the slot (copy_data = false)${only}`);
      add('sync', `replicate changes until cutover${only}`);
      add(
        'cutover',
        `cutover: wait for lag <= maxLag and for the target to apply everything, sync sequences, re-copy the tables without a key or unlogged that changed and sync large objects, verify, then drop subscription, slot and publications${only}`,
      );
    }
  } else {
    add('schema-objects', 'create views, routines, triggers and events');
    if (repl) {
      add('replica', `replicate from the snapshot's GTID position (CHANGE MASTER TO ... MASTER_USE_GTID)${only}`);
      add('sync', `replicate changes until cutover${only}`);
      add('cutover', `cutover: wait for lag <= maxLag, stop and remove replication${only}`);
    }
  }
  if (cfg.verify !== 'none') add('verify', verifyDescription(cfg, db, tables));
  return out;
}

function pauseText(cfg: MigrationConfig): string {
  const p = cfg.copy.pauseWhen;
  const when = [
    p.sourceConnectionsAbove !== null ? `the source has more than ${p.sourceConnectionsAbove} client connections` : '',
    p.standbyLagAbove !== null ? `a standby of the source lags more than ${formatBytes(p.standbyLagAbove)}` : '',
  ].filter(Boolean);
  return when.length ? `, paused while ${when.join(' or ')} (copy.pauseWhen)` : '';
}

/** Which verify runs on which tables: with the discovered tables, the ones sampled are named. */
function verifyDescription(cfg: MigrationConfig, db: string, tables?: TableFacts): string {
  if (cfg.verify === 'counts') return 'verify row counts per table (verify: counts: no checksums)';
  if (cfg.verify === 'checksums') return 'verify row counts and a checksum of every row, per table';
  const rule = `tables above ${formatBytes(cfg.verifySampleAbove)} with an integer primary key: checksums of ${SAMPLE_RANGES} key ranges covering about ${formatBytes(cfg.verifySampleAbove)}`;
  if (!tables) return `verify row counts and a checksum of every row per table; ${rule}`;
  const copied = tables.filter((t) => !cfg.tables.skip.some((r) => tableRefMatches(r, db, t.schema ?? undefined, t.name)));
  const sampled = copied.filter(
    (t) => tableVerify(cfg.verify, { bytes: t.bytes ?? 0, intKey: t.intKey ? 'key' : null }, cfg.verifySampleAbove) === 'sample',
  );
  const names = sampled.map((t) => `${t.schema ? `${t.schema}.` : ''}${t.name} (${formatBytes(t.bytes ?? 0)})`);
  if (names.length === 0) return `verify row counts and a checksum of every row of all ${copied.length} table(s)`;
  const shown = names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
  return `verify row counts of every table; checksums of every row of ${copied.length - sampled.length} table(s), and of ${SAMPLE_RANGES} key ranges covering about ${formatBytes(cfg.verifySampleAbove)} of ${shown}`;
}

function actionFor(cfg: MigrationConfig, exists: boolean | null, objects: number | null): PlanDatabase['action'] {
  if (exists === null) return 'unknown';
  if (!exists) return 'create';
  if ((objects ?? 0) === 0) return 'reuse-empty';
  return cfg.databases.overwrite ? 'overwrite' : 'refuse-non-empty';
}

export function buildPlan({ loaded, discovery, checks, decisions }: PlanInput): Plan {
  const cfg = loaded.config;
  const base = configuredMethod(cfg);
  const warnings: string[] = loaded.warnings.map((w) => `${basename(w.file)}:${w.line}:${w.col}: ${w.message}`);
  const names = discovery
    ? discovery.databases.map((d) => d.source.name)
    : [...cfg.databases.include].filter((d) => !cfg.databases.exclude.includes(d)).sort();
  const databases: PlanDatabase[] = names.map((name) => {
    const facts = discovery?.databases.find((d) => d.source.name === name);
    const decided = decisions?.[name];
    const method: PlannedMethod = decided ? decided.method : base.method;
    const reason = decided ? decided.reason : base.reason;
    const action = discovery?.resumable[name]
      ? 'resume'
      : actionFor(cfg, facts ? facts.target.exists : null, facts ? facts.target.userObjects : null);
    return {
      name,
      method,
      methodReason: reason,
      action,
      sizeBytes: facts?.source.sizeBytes ?? null,
      tables: facts?.source.tables ?? null,
      schemas: facts?.source.schemas ?? null,
      rowEstimate: facts?.source.rowEstimate ?? null,
      encoding: facts?.source.encoding ?? null,
      collation: facts?.source.collation ?? null,
      targetExists: facts ? facts.target.exists : null,
      targetUserObjects: facts ? facts.target.userObjects : null,
      tablesSkipped: tableRefsFor(cfg, name, 'skip'),
      tablesIncluded: tableRefsFor(cfg, name, 'include'),
      ownershipToTargetUser: facts?.source.ownershipToTargetUser ?? [],
      grantsSkipped: facts?.source.grantsSkipped ?? [],
    };
  });
  for (const d of databases) {
    if (d.action === 'refuse-non-empty') {
      warnings.push(
        `database "${d.name}" already exists on the target with ${d.targetUserObjects} object${d.targetUserObjects === 1 ? '' : 's'}; apply will refuse it unless databases.overwrite is true`,
      );
    }
  }
  const missing = discovery ? discovery.missing : [];
  for (const m of missing) warnings.push(`database "${m}" is listed in databases.include but does not exist on the source`);

  const steps: PlanStep[] = [];
  const inst = (kind: StepKind, description: string): void => {
    steps.push({ id: kind, kind, database: null, description });
  };
  if (cfg.option !== 'Migrate') inst('validate', 'run the pre-migration check (migration option ' + cfg.option + ')');
  if (cfg.option !== 'Validate') {
    inst(
      'register',
      `record migration "${cfg.name}" in the target's state store (${cfg.engine === 'postgresql' ? 'schema' : 'database'} dbferry)`,
    );
    if (cfg.engine === 'postgresql' && cfg.roles.migrate) {
      const list = discovery?.roles;
      inst(
        'roles',
        list && list.length === 0
          ? 'no roles to create (the source has no non-superuser roles besides the connecting user)'
          : list
            ? `create ${list.length} role${list.length === 1 ? '' : 's'} with attributes, memberships and settings${list.length ? ` (${list.join(', ')})` : ''}; passwords are never copied`
            : `create the source's non-superuser roles with attributes, memberships and settings${cfg.roles.exclude.length ? ` (except ${cfg.roles.exclude.join(', ')})` : ''}; passwords are never copied`,
      );
      const skipped = discovery?.rolesNotCreated ?? [];
      if (skipped.length) {
        inst(
          'roles-not-created',
          `roles not created: ${skipped.map((r) => `${r.name} (${r.why})`).join(', ')}; objects owned by a role that is not on the target, or that the target user may not give objects to, are owned by the target user`,
        );
      }
    }
    for (const d of databases) {
      if (d.action === 'refuse-non-empty') continue;
      steps.push(
        ...stepsFor(cfg, d.name, d.method, d.action, discovery?.databases.find((x) => x.source.name === d.name)?.source.tableNames),
      );
    }
    if (!discovery && databases.length === 0)
      steps.push(...stepsFor(cfg, '*', base.method, 'unknown').map((s) => ({ ...s, id: s.id.replace(/^\*:/, 'each:'), database: null })));
  }

  const totalBytes = discovery ? databases.reduce((a, d) => a + (d.sizeBytes ?? 0), 0) : null;
  const count = (m: PlannedMethod) => databases.filter((d) => d.method === m && d.action !== 'refuse-non-empty').length;
  const blocked = databases.filter((d) => d.action === 'refuse-non-empty').length + missing.length;
  const n = databases.length;
  const parts: string[] = [];
  if (!discovery && n === 0) parts.push('every non-system database on the source (listed when planning against the servers)');
  else parts.push(`${n} database${n === 1 ? '' : 's'}${totalBytes !== null ? ` (${formatBytes(totalBytes)})` : ''} to migrate`);
  const methods = [
    count('dump') ? `${count('dump')} by dump` : '',
    count('replication') ? `${count('replication')} by replication` : '',
    count('auto') ? `${count('auto')} method decided at check` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (methods) parts.push(methods);
  if (blocked) parts.push(`${blocked} blocked`);
  if (cfg.mode === 'online') parts.push(cfg.cutover ? 'cutover automatic once lag <= maxLag' : 'cutover on `dbferry cutover`');
  if (cfg.option === 'Validate') parts.push('option Validate: check only, nothing is migrated');

  return {
    format: 'dbferry-plan',
    formatVersion: 1,
    kind: discovery ? 'discovered' : 'offline',
    configFile: basename(loaded.file),
    migration: {
      name: cfg.name,
      engine: cfg.engine,
      mode: cfg.mode,
      option: cfg.option,
      method: cfg.method,
      cutover: cfg.cutover,
      verify: cfg.verify,
      copyJobs: cfg.copy.jobs,
    },
    source: {
      server: describeServer(cfg.source),
      ssl: cfg.source.ssl,
      version: discovery ? `${discovery.source.product} ${discovery.source.version}` : null,
    },
    target: {
      server: describeServer(cfg.target),
      ssl: cfg.target.ssl,
      version: discovery ? `${discovery.target.product} ${discovery.target.version}` : null,
    },
    databaseSelection: { include: cfg.databases.include, exclude: cfg.databases.exclude, allNonSystem: cfg.databases.include.length === 0 },
    databases,
    missingDatabases: missing,
    selection: discovery ? selectionOf(cfg, discovery) : null,
    roles: { migrate: cfg.roles.migrate, exclude: cfg.roles.exclude, toCreate: discovery?.roles ?? null },
    targetUser: discovery?.targetUser ?? null,
    steps,
    checks,
    warnings,
    summary: {
      databases: n,
      totalBytes,
      dump: count('dump'),
      replication: count('replication'),
      undecided: count('auto'),
      blocked,
      text: `Plan: ${parts.join('; ')}.`,
    },
    fingerprint: { config: configFingerprint(cfg), sourceSchema: discovery?.sourceSchemaFingerprint ?? null },
  };
}
