/**
 * PostgreSQL pre-migration check: facts -> results, each with the fix. Pure. The check groups
 * live in ./checks; this fixes their order, which is the order of the report.
 */
import type { MigrationConfig } from '../../config/types.js';
import { sshTunnelChecks, type CheckResult } from '../checks.js';
import { pgCheckContext, pgDbCheckContext, type PgCheckContext, type PgDbCheckContext } from './checks/context.js';
import { collationChecks, databaseSizeChecks, lockTableChecks, sourceReadChecks, targetDatabaseChecks } from './checks/database.js';
import { databaseObjectChecks } from './checks/database-objects.js';
import { sourceReplicationChecks, targetReplicationChecks } from './checks/replication.js';
import { selectionChecks } from './checks/selection.js';
import { connectionChecks, discoveryFailureChecks, pgDumpChecks, serverPairChecks } from './checks/servers.js';
import { sourceActivityChecks } from './checks/source-activity.js';
import { roleChecks, targetPrivilegeChecks } from './checks/target-privileges.js';
import type { PgFacts, ServerSide } from './facts.js';

const INSTANCE_CHECKS: ((c: PgCheckContext) => CheckResult[])[] = [
  (c) => sshTunnelChecks('pg', c.cfg, c.online),
  connectionChecks,
  discoveryFailureChecks,
  serverPairChecks,
  pgDumpChecks,
  sourceReplicationChecks,
  targetReplicationChecks,
  sourceActivityChecks,
  targetPrivilegeChecks,
  roleChecks,
  selectionChecks,
];

const DATABASE_CHECKS: ((c: PgDbCheckContext) => CheckResult[])[] = [
  databaseSizeChecks,
  sourceReadChecks,
  lockTableChecks,
  targetDatabaseChecks,
  collationChecks,
  databaseObjectChecks,
];

export function evaluatePostgres(f: PgFacts, cfg: MigrationConfig): CheckResult[] {
  const c = pgCheckContext(f, cfg);
  return [
    ...INSTANCE_CHECKS.flatMap((check) => check(c)),
    ...c.dbs.flatMap((d) => {
      const db = pgDbCheckContext(c, d);
      return DATABASE_CHECKS.flatMap((check) => check(db));
    }),
  ];
}

export type { ServerSide };
