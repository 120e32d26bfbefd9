/** The databases selected for migration, as a whole: total size, missing and unmatched names. Pure. */
import { formatBytes } from '../../../util/sizes.js';
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import { missingDatabaseChecks, selectionCheck } from '../../selection.js';
import type { MyCheckContext } from './context.js';

/** `my.total_size`, the missing databases, the selection, and `my.databases` when nothing is selected. */
export function selectionChecks({ f, cfg, dbs }: MyCheckContext): CheckResult[] {
  if (!f.discovery) return [];
  const out: CheckResult[] = [];
  const total = dbs.reduce((a, d) => a + d.source.sizeBytes, 0);
  if (cfg.databases.maxTotalSize !== null && total > cfg.databases.maxTotalSize)
    out.push(
      fail(
        'my.total_size',
        `total size ${formatBytes(total)} exceeds databases.maxTotalSize ${formatBytes(cfg.databases.maxTotalSize)}`,
        'Exclude databases, or raise databases.maxTotalSize.',
      ),
    );
  else
    out.push(
      ok(
        'my.total_size',
        `total ${formatBytes(total)}${dbs.length ? `: ${dbs.map((d) => `${d.source.name} ${formatBytes(d.source.sizeBytes)}`).join(', ')}` : ''}`,
      ),
    );
  out.push(...missingDatabaseChecks('my', f.discovery.missing));
  const selection = selectionCheck('my', cfg, f.discovery);
  if (selection) out.push(selection);
  if (dbs.length === 0 && f.discovery.missing.length === 0)
    out.push(
      warn(
        'my.databases',
        'no database to migrate (system schemas mysql, sys, information_schema, performance_schema are never migrated)',
        'Check databases.include / exclude.',
      ),
    );
  return out;
}
