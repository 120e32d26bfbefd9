/** The databases selected for migration, as a whole: total size, missing and unmatched names. Pure. */
import { formatBytes } from '../../../util/sizes.js';
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import { missingDatabaseChecks, selectionCheck } from '../../selection.js';
import type { PgCheckContext } from './context.js';

/** `pg.total_size`, the missing databases, the selection, and `pg.databases` when nothing is selected. */
export function selectionChecks({ f, cfg, dbs }: PgCheckContext): CheckResult[] {
  if (!f.discovery) return [];
  const out: CheckResult[] = [];
  const total = dbs.reduce((a, d) => a + d.source.sizeBytes, 0);
  const per = dbs.map((d) => `${d.source.name} ${formatBytes(d.source.sizeBytes)}`).join(', ');
  if (cfg.databases.maxTotalSize !== null && total > cfg.databases.maxTotalSize) {
    out.push(
      fail(
        'pg.total_size',
        `total size ${formatBytes(total)} exceeds databases.maxTotalSize ${formatBytes(cfg.databases.maxTotalSize)}`,
        'Exclude databases, or raise databases.maxTotalSize.',
      ),
    );
  } else out.push(ok('pg.total_size', `total ${formatBytes(total)}${per ? `: ${per}` : ''}`));
  out.push(...missingDatabaseChecks('pg', f.discovery.missing));
  const selection = selectionCheck('pg', cfg, f.discovery);
  if (selection) out.push(selection);
  if (dbs.length === 0 && f.discovery.missing.length === 0)
    out.push(warn('pg.databases', 'no database to migrate', 'Check databases.include / exclude.'));
  return out;
}
