/** Check outcome -> text table and stable JSON document (with Aiven's shape). Pure. */
import type { CheckOutcome, CheckResult } from '../engines/checks.js';
import { summarize } from '../engines/checks.js';
import { PLAIN, type Style } from '../util/style.js';

export function preferredMethodSentence(outcome: CheckOutcome): string {
  const byMethod = new Map<string, string[]>();
  for (const [db, d] of Object.entries(outcome.decisions).sort(([a], [b]) => a.localeCompare(b))) {
    const m = d.method === 'replication' ? 'Replication' : 'Dump';
    byMethod.set(m, [...(byMethod.get(m) ?? []), db]);
  }
  const s = summarize(outcome.checks);
  if (s.failed > 0)
    return `${s.failed} pre-check${s.failed === 1 ? '' : 's'} failed; fix ${s.failed === 1 ? 'it' : 'them'} and run \`dbferry check\` again`;
  if (byMethod.size === 0) return 'All pre-checks passed successfully, but there is no database to migrate';
  if (byMethod.size === 1) return `All pre-checks passed successfully, preferred migration method will be [${[...byMethod.keys()][0]}]`;
  return `All pre-checks passed successfully, preferred migration method will be ${[...byMethod.entries()].map(([m, dbs]) => `[${m}] for ${dbs.join(', ')}`).join(' and ')}`;
}

function row(c: CheckResult, s: Style): string[] {
  const mark = c.result === 'Succeeded' ? s.green('Succeeded') : c.result === 'Warning' ? s.yellow('Warning  ') : s.red('Failed   ');
  const lines = [`  ${mark}  ${c.id.padEnd(36)} ${c.message}`];
  if (c.result !== 'Succeeded' && c.hint) lines.push(`  ${' '.repeat(9)}  ${' '.repeat(36)} ${s.dim('fix:')} ${c.hint}`);
  return lines;
}

export function renderCheckText(name: string, outcome: CheckOutcome, s: Style = PLAIN): string {
  const out: string[] = [s.bold(`Pre-migration check for migration "${name}"`), ''];
  const inst = outcome.checks.filter((c) => c.level === 'instance');
  out.push(s.bold('Instance level'));
  for (const c of inst) out.push(...row(c, s));
  const dbs = [...new Set(outcome.checks.filter((c) => c.level === 'database').map((c) => c.database ?? ''))].sort();
  for (const db of dbs) {
    out.push('', s.bold(`Database "${db}"`));
    for (const c of outcome.checks.filter((x) => x.level === 'database' && x.database === db)) out.push(...row(c, s));
  }
  const decided = Object.entries(outcome.decisions).sort(([a], [b]) => a.localeCompare(b));
  if (decided.length) {
    out.push('', s.bold('Method per database'));
    for (const [db, d] of decided)
      out.push(`  ${db.padEnd(20)} ${d.method === 'replication' ? s.green('replication') : 'dump'} — ${d.reason}`);
  }
  const sum = summarize(outcome.checks);
  out.push('', `${sum.succeeded} succeeded, ${sum.warnings} warning${sum.warnings === 1 ? '' : 's'}, ${sum.failed} failed.`);
  out.push(sum.failed ? s.red(preferredMethodSentence(outcome)) : s.green(preferredMethodSentence(outcome)));
  return out.join('\n') + '\n';
}

export interface CheckDocument {
  name: string;
  engine: string;
  result: 'Succeeded' | 'Warning' | 'Failed';
  summary: { succeeded: number; warnings: number; failed: number };
  message: string;
  checks: Omit<CheckResult, 'replication'>[];
  databases: { dbname: string; method: string; reason: string }[];
  migration: { error: string | null; method: string; seconds_behind_master: null; source_active: boolean; status: string };
  migration_detail: { dbname: string; error: null; method: string; status: string }[];
}

export function checkDocument(name: string, engine: string, outcome: CheckOutcome): CheckDocument {
  const sum = summarize(outcome.checks);
  const message = preferredMethodSentence(outcome);
  const methods = [...new Set(Object.values(outcome.decisions).map((d) => d.method))];
  const sourceReachable = !outcome.checks.some((c) => /\.source\.connectivity$/.test(c.id) && c.result === 'Failed');
  return {
    name,
    engine,
    result: sum.failed ? 'Failed' : sum.warnings ? 'Warning' : 'Succeeded',
    summary: sum,
    message,
    checks: outcome.checks.map(({ replication: _r, ...c }) => c),
    databases: Object.entries(outcome.decisions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([dbname, d]) => ({ dbname, method: d.method, reason: d.reason })),
    migration: {
      error: sum.failed ? message : null,
      method: sum.failed || methods.length !== 1 ? '' : (methods[0] as string),
      seconds_behind_master: null,
      source_active: sourceReachable,
      status: 'done',
    },
    migration_detail: sum.failed
      ? []
      : Object.entries(outcome.decisions)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([dbname, d]) => ({ dbname, error: null, method: d.method, status: 'done' })),
  };
}
