/** The guard both engines apply before writing into an existing target database. */
import { DbferryError } from '../util/errors.js';

/** The check saw the target database empty; if something filled it since, nothing is written into it. */
export function refuseNonEmptyTarget(db: string, found: number, what: 'objects' | 'tables'): void {
  if (found <= 0) return;
  throw new DbferryError(
    'STATE_CONFLICT',
    `target database "${db}" is not empty any more (${found} ${what} appeared after the check); nothing was written to it`,
    { hint: 'Another process may have migrated it. Check it, then drop it or set databases.overwrite: true.' },
  );
}
