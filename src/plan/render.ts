/** Plan -> terraform-style text, and Plan -> stable JSON. Pure and deterministic. */
import { formatBytes } from '../util/sizes.js';
import { PLAIN, type Style } from '../util/style.js';
import { describeSelection, type SelectionEntry } from '../engines/selection.js';
import type { Plan, PlanCheck, PlanDatabase } from './types.js';

export function renderPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + '\n';
}

function n(x: number | null): string {
  if (x === null) return '?';
  if (x >= 1e6) return `~${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e3) return `~${(x / 1e3).toFixed(1)}k`;
  return `~${x}`;
}

function dbHeader(d: PlanDatabase, s: Style): string {
  const sym = d.action === 'refuse-non-empty' ? s.red('!') : d.action === 'overwrite' ? s.yellow('~') : s.green('+');
  const facts =
    d.sizeBytes !== null
      ? `  ${formatBytes(d.sizeBytes)}, ${d.tables} table${d.tables === 1 ? '' : 's'} in ${d.schemas} schema${d.schemas === 1 ? '' : 's'}, ${n(d.rowEstimate)} rows`
      : '';
  return `  ${sym} database ${s.bold(`"${d.name}"`)}${facts}`;
}

const ACTION_TEXT: Record<PlanDatabase['action'], string> = {
  create: 'does not exist on the target: it will be created',
  'reuse-empty': 'exists on the target and is empty: it will be used',
  overwrite: 'exists on the target with content: it will be DROPPED and recreated (databases.overwrite: true)',
  'refuse-non-empty': 'exists on the target with content: apply will refuse it (set databases.overwrite: true to replace it)',
  resume: 'was started by an earlier run of this migration: apply resumes it (finished tables are kept)',
  unknown: 'target state known when planning against the servers',
};

export function renderCheckLine(c: PlanCheck, s: Style): string {
  const mark = c.result === 'Succeeded' ? s.green('ok  ') : c.result === 'Warning' ? s.yellow('warn') : s.red('FAIL');
  return `${mark} ${c.id.padEnd(28)} ${c.message}`;
}

export function renderPlanText(plan: Plan, s: Style = PLAIN): string {
  const out: string[] = [];
  const m = plan.migration;
  out.push(
    s.bold(`dbferry plan: migration "${m.name}"`) +
      ` (${m.engine}, ${m.mode}, ${m.option}${plan.kind === 'offline' ? ', from the config only' : ''})`,
  );
  out.push('');
  out.push(`  source  ${plan.source.server}  ${plan.source.version ?? ''}${plan.source.version ? '  ' : ''}ssl=${plan.source.ssl}`);
  out.push(`  target  ${plan.target.server}  ${plan.target.version ?? ''}${plan.target.version ? '  ' : ''}ssl=${plan.target.ssl}`);
  out.push('');
  out.push('dbferry will perform the following actions:');
  out.push('');
  const inst = plan.steps.filter((st) => st.database === null && !st.id.startsWith('each:'));
  for (const st of inst) out.push(`  ${s.green('+')} ${st.description}`);
  if (inst.length) out.push('');
  if (plan.databases.length === 0 && plan.databaseSelection.allNonSystem) {
    out.push(
      `  ${s.green('+')} every non-system database on the source${plan.databaseSelection.exclude.length ? ` except ${plan.databaseSelection.exclude.join(', ')}` : ''} (run \`dbferry plan\` without --offline to list them)`,
    );
    out.push(`      method: ${configuredLine(plan)}`);
    plan.steps.filter((st) => st.id.startsWith('each:')).forEach((st, i) => out.push(`      ${i + 1}. ${st.description}`));
    out.push('');
  }
  for (const d of plan.databases) {
    out.push(dbHeader(d, s));
    out.push(`      method: ${d.method === 'auto' ? s.yellow('auto') : d.method} — ${d.methodReason}`);
    out.push(`      target: ${ACTION_TEXT[d.action]}`);
    if (d.tablesSkipped.length) out.push(`      data not copied (table created empty): ${d.tablesSkipped.join(', ')}`);
    if (d.tablesIncluded.length) out.push(`      data copied only for: ${d.tablesIncluded.join(', ')}`);
    for (const line of accessChanges(d, plan.targetUser ?? null)) out.push(`      ${line}`);
    plan.steps.filter((st) => st.database === d.name).forEach((st, i) => out.push(`      ${i + 1}. ${st.description}`));
    out.push('');
  }
  for (const x of plan.databaseSelection.exclude) out.push(`  ${s.dim('-')} database "${x}" excluded (databases.exclude)`);
  for (const e of (plan.selection ?? []).filter((x) => x.key !== 'databases.exclude')) {
    out.push(`  ${e.matched.length ? s.dim('=') : s.red('!')} ${describeSelection(e as SelectionEntry)}`);
  }
  if ((plan.selection ?? []).some((x) => x.key !== 'databases.exclude')) out.push('');
  for (const x of plan.missingDatabases) out.push(`  ${s.red('!')} database "${x}" is included but missing on the source`);
  if (plan.databaseSelection.exclude.length || plan.missingDatabases.length) out.push('');
  if (plan.checks) {
    const n = (r: string) => plan.checks!.filter((c) => c.result === r).length;
    out.push(
      `${s.bold('Pre-migration check:')} ${n('Succeeded')} succeeded, ${n('Warning')} warnings, ${n('Failed')} failed${n('Warning') + n('Failed') ? '' : ' (details: dbferry check)'}`,
    );
    for (const c of plan.checks.filter((x) => x.result !== 'Succeeded'))
      out.push(`  ${renderCheckLine(c, s)}${c.database ? s.dim(`  [${c.database}]`) : ''}`);
    out.push('');
  }
  for (const w of plan.warnings) out.push(`${s.yellow('Warning:')} ${w}`);
  if (plan.warnings.length) out.push('');
  out.push(s.bold(plan.summary.text));
  return out.join('\n') + '\n';
}

function configuredLine(plan: Plan): string {
  if (plan.migration.mode === 'offline') return 'dump (mode offline)';
  return plan.migration.method === 'auto' ? 'auto (decided at check)' : plan.migration.method;
}

/** The ownership and grants that change on the target, in words (text and Markdown plans). */
export function accessChanges(d: PlanDatabase, targetUser: string | null): string[] {
  const out: string[] = [];
  const owners = d.ownershipToTargetUser ?? [];
  if (owners.length) {
    out.push(
      `owned by ${targetUser ? `the target user ${targetUser}` : 'the target user'} instead: the objects of ${owners.map((o) => `${o.role} (${o.objects})`).join(', ')}`,
    );
  }
  if (d.grantsSkipped?.length) out.push(`grants skipped (role not on the target): to ${d.grantsSkipped.join(', ')}`);
  return out;
}
