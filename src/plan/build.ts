/** Config (+ discovered facts + check results) -> Plan. Pure and deterministic. */
import { compileDatabaseSteps, compileMigrationSteps } from '../engines/compile.js';
import { tableRefsFor } from '../engines/step-descriptions.js';
import { step } from '../engines/steps.js';
import { selectionOf } from '../engines/selection.js';
import { describeServer } from '../config/connection.js';
import type { LoadedConfig, MigrationConfig } from '../config/types.js';
import type { Discovery } from '../engines/engine.js';
import { formatBytes } from '../util/sizes.js';
import { configFingerprint } from './fingerprint.js';
import type { Plan, PlanCheck, PlanDatabase, PlanStep, PlannedMethod } from './types.js';
import { basename } from 'node:path';

export type { MethodDecision } from '../engines/checks.js';
import type { MethodDecision } from '../engines/checks.js';

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

function actionFor(cfg: MigrationConfig, exists: boolean | null, objects: number | null): PlanDatabase['action'] {
  if (exists === null) return 'unknown';
  if (!exists) return 'create';
  if ((objects ?? 0) === 0) return 'reuse-empty';
  return cfg.databases.overwrite ? 'overwrite' : 'refuse-non-empty';
}

/** One database as the plan shows it: its method, what happens to the target database, what discovery found. */
function planDatabase(cfg: MigrationConfig, name: string, discovery: Discovery | null, decided: MethodDecision | undefined): PlanDatabase {
  const base = configuredMethod(cfg);
  const facts = discovery?.databases.find((d) => d.source.name === name);
  const action = discovery?.resumable[name]
    ? 'resume'
    : actionFor(cfg, facts ? facts.target.exists : null, facts ? facts.target.userObjects : null);
  return {
    name,
    method: decided ? decided.method : base.method,
    methodReason: decided ? decided.reason : base.reason,
    fellBack: decided?.fellBack === true,
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
}

export function buildPlan({ loaded, discovery, checks, decisions }: PlanInput): Plan {
  const cfg = loaded.config;
  const base = configuredMethod(cfg);
  const warnings: string[] = loaded.warnings.map((w) => `${basename(w.file)}:${w.line}:${w.col}: ${w.message}`);
  const names = discovery
    ? discovery.databases.map((d) => d.source.name)
    : [...cfg.databases.include].filter((d) => !cfg.databases.exclude.includes(d)).sort();
  const databases = names.map((name) => planDatabase(cfg, name, discovery, decisions?.[name]));
  for (const d of databases) {
    if (d.action === 'refuse-non-empty') {
      warnings.push(
        `database "${d.name}" already exists on the target with ${d.targetUserObjects} object${d.targetUserObjects === 1 ? '' : 's'}; apply will refuse it unless databases.overwrite is true`,
      );
    }
  }
  const missing = discovery ? discovery.missing : [];
  for (const m of missing) warnings.push(`database "${m}" is listed in databases.include but does not exist on the source`);

  const steps = planSteps(cfg, databases, discovery, base.method);
  const totalBytes = discovery ? databases.reduce((a, d) => a + (d.sizeBytes ?? 0), 0) : null;
  const count = (m: PlannedMethod) => databases.filter((d) => d.method === m && d.action !== 'refuse-non-empty').length;
  const blocked = databases.filter((d) => d.action === 'refuse-non-empty').length + missing.length;
  const n = databases.length;
  const parts = summaryParts(cfg, { discovered: discovery !== null, n, totalBytes, blocked, count });
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

function rolesText(cfg: MigrationConfig, discovery: Discovery | null): string {
  const list = discovery?.roles;
  const skipped = discovery?.rolesNotCreated ?? [];
  const notCreated = skipped.length
    ? `; roles not created: ${skipped.map((r) => `${r.name} (${r.why})`).join(', ')}; objects owned by a role that is not on the target, or that the target user may not give objects to, are owned by the target user`
    : '';
  if (list && list.length === 0)
    return `no roles to create (the source has no non-superuser roles besides the connecting user)${notCreated}`;
  if (list)
    return `create ${list.length} role${list.length === 1 ? '' : 's'} with attributes, memberships and settings (${list.join(', ')}); passwords are never copied${notCreated}`;
  return `create the source's non-superuser roles with attributes, memberships and settings${cfg.roles.exclude.length ? ` (except ${cfg.roles.exclude.join(', ')})` : ''}; passwords are never copied`;
}

/** The plan's steps: the migration's own, then each database's as its engine compiles them. */
function planSteps(cfg: MigrationConfig, databases: PlanDatabase[], discovery: Discovery | null, method: PlannedMethod): PlanStep[] {
  const steps: PlanStep[] = [];
  if (cfg.option !== 'Migrate')
    steps.push(step(null, 'validate', `run the pre-migration check (migration option ${cfg.option})`, { always: true }));
  if (cfg.option === 'Validate') return steps;
  const store = cfg.engine === 'postgresql' ? 'schema' : 'database';
  steps.push(step(null, 'register', `record migration "${cfg.name}" in the target's state store (${store} dbferry)`, { always: true }));
  if (cfg.engine === 'postgresql' && cfg.roles.migrate) steps.push(step(null, 'roles', rolesText(cfg, discovery), { after: ['register'] }));
  const migrated = databases.filter((d) => d.action !== 'refuse-non-empty');
  for (const d of migrated) {
    const facts = discovery?.databases.find((x) => x.source.name === d.name)?.source;
    steps.push(
      ...compileDatabaseSteps({
        cfg,
        database: d.name,
        method: d.method,
        action: d.action,
        ...(facts?.tableNames ? { tables: facts.tableNames } : {}),
        sizeBytes: d.sizeBytes,
      }),
    );
  }
  if (!discovery && databases.length === 0) {
    const each = compileDatabaseSteps({ cfg, database: '*', method, action: 'unknown' });
    steps.push(
      ...each.map((s) => ({
        ...s,
        id: s.id.replace(/^\*:/, 'each:'),
        database: null,
        after: s.after.map((x) => x.replace(/^\*:/, 'each:')),
      })),
    );
  }
  const replicated =
    !discovery && databases.length === 0
      ? method === 'dump'
        ? []
        : ['*']
      : migrated.filter((d) => d.method !== 'dump').map((d) => (d.method === 'auto' ? '*' : d.name));
  steps.push(...compileMigrationSteps(cfg, [...new Set(replicated)]));
  return steps;
}

/** The plan's one-line summary, in parts. */
function summaryParts(
  cfg: MigrationConfig,
  x: { discovered: boolean; n: number; totalBytes: number | null; blocked: number; count: (m: PlannedMethod) => number },
): string[] {
  const { n, totalBytes, blocked, count } = x;
  const parts: string[] = [];
  if (!x.discovered && n === 0) parts.push('every non-system database on the source (listed when planning against the servers)');
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
  return parts;
}
