/**
 * Plan -> Markdown, for a pull-request comment: summary, per-database actions and methods, check
 * results, warnings. Pure and deterministic (no times, no colours); secrets are redacted by the
 * caller as for every output.
 */
import { formatBytes } from '../util/sizes.js';
import { describeSelection, type SelectionEntry } from '../engines/selection.js';
import { accessChanges } from './render.js';
import type { Plan, PlanDatabase } from './types.js';

const ACTION: Record<PlanDatabase['action'], string> = {
  create: 'create',
  'reuse-empty': 'use the existing empty database',
  overwrite: '**drop and recreate** (databases.overwrite)',
  'refuse-non-empty': '**refused**: target has content',
  resume: 'resume an earlier run',
  unknown: 'known when planned against the servers',
};

/** Escapes the characters that would break a Markdown table cell or start markup. */
function cell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ')
    .replace(/([*_`<>])/g, '\\$1');
}

export function renderPlanMarkdown(plan: Plan): string {
  const m = plan.migration;
  const out: string[] = [];
  out.push(`### dbferry plan: \`${m.name}\``);
  out.push('');
  out.push(`**${cell(plan.summary.text)}**`);
  out.push('');
  out.push(
    `${m.engine}, ${m.mode}, ${m.option}, verify ${m.verify}${plan.kind === 'offline' ? ' — planned from the config only (no server contacted)' : ''}`,
  );
  out.push('');
  out.push('| | server | version | ssl |');
  out.push('|---|---|---|---|');
  out.push(`| source | ${cell(plan.source.server)} | ${cell(plan.source.version ?? '?')} | ${plan.source.ssl} |`);
  out.push(`| target | ${cell(plan.target.server)} | ${cell(plan.target.version ?? '?')} | ${plan.target.ssl} |`);
  out.push('');
  if (plan.databases.length) {
    out.push('| database | size | tables | method | target |');
    out.push('|---|---:|---:|---|---|');
    for (const d of plan.databases) {
      out.push(
        `| ${cell(d.name)} | ${d.sizeBytes === null ? '?' : formatBytes(d.sizeBytes)} | ${d.tables ?? '?'} | ${d.method} — ${cell(d.methodReason)} | ${ACTION[d.action]} |`,
      );
    }
    out.push('');
  } else if (plan.databaseSelection.allNonSystem) {
    out.push(
      `Every non-system database on the source${plan.databaseSelection.exclude.length ? ` except ${plan.databaseSelection.exclude.map(cell).join(', ')}` : ''}.`,
    );
    out.push('');
  }
  const access = plan.databases.flatMap((d) => accessChanges(d, plan.targetUser ?? null).map((l) => `- \`${d.name}\`: ${cell(l)}`));
  if (access.length) out.push('**Ownership and grants**', '', ...access, '');
  out.push('<details><summary>Steps</summary>');
  out.push('');
  for (const st of plan.steps) out.push(`- ${st.database ? `\`${st.database}\`: ` : ''}${cell(st.description)}`);
  out.push('');
  out.push('</details>');
  out.push('');
  if (plan.checks) {
    const count = (r: string) => plan.checks!.filter((c) => c.result === r).length;
    out.push(`**Pre-migration check:** ${count('Succeeded')} succeeded, ${count('Warning')} warnings, ${count('Failed')} failed`);
    const notable = plan.checks.filter((c) => c.result !== 'Succeeded');
    if (notable.length) {
      out.push('');
      out.push('| result | check | database | message |');
      out.push('|---|---|---|---|');
      for (const c of notable)
        out.push(
          `| ${c.result === 'Failed' ? '❌ Failed' : '⚠️ Warning'} | \`${c.id}\` | ${cell(c.database ?? '')} | ${cell(c.message)} |`,
        );
    }
    out.push('');
  }
  const selection = plan.selection ?? [];
  if (selection.length) {
    out.push('**Selection**');
    out.push('');
    for (const e of selection) out.push(`- ${e.matched.length ? '' : '❌ '}${cell(describeSelection(e as SelectionEntry))}`);
    out.push('');
  }
  if (plan.missingDatabases.length) out.push(`❌ Included but missing on the source: ${plan.missingDatabases.map(cell).join(', ')}`, '');
  if (plan.warnings.length) {
    out.push('**Warnings**');
    out.push('');
    for (const w of plan.warnings) out.push(`- ${cell(w)}`);
    out.push('');
  }
  const short = (f: string) => f.replace(/^sha256:/, '').slice(0, 12);
  out.push(
    `<sub>config fingerprint \`${short(plan.fingerprint.config)}\`${plan.fingerprint.sourceSchema ? `, source schema \`${short(plan.fingerprint.sourceSchema)}\`` : ''}</sub>`,
  );
  return out.join('\n') + '\n';
}

/** Whether applying the plan would change anything (terraform's -detailed-exitcode 2). */
export function planHasChanges(plan: Plan): boolean {
  return (
    plan.databases.some((d) => d.action !== 'refuse-non-empty') || (plan.databases.length === 0 && plan.databaseSelection.allNonSystem)
  );
}
