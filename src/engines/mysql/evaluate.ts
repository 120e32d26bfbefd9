/**
 * MySQL / MariaDB pre-migration check, as Aiven's migration_check and more: facts -> results.
 * Pure. The check groups live in ./checks; this fixes their order, which is the order of the report.
 */
import type { MigrationConfig } from '../../config/types.js';
import { sshTunnelChecks, type CheckResult } from '../checks.js';
import { myCheckContext, myDbCheckContext, type MyCheckContext, type MyDbCheckContext } from './checks/context.js';
import { databaseContentChecks, databaseSizeChecks, targetDatabaseChecks } from './checks/database.js';
import { binlogRetentionChecks, gtidAndServerIdChecks, sourceBinlogChecks, targetReplicationChecks } from './checks/replication.js';
import { selectionChecks } from './checks/selection.js';
import { connectionChecks, discoveryFailureChecks, serverPairChecks, serverSettingChecks } from './checks/servers.js';
import type { MyFacts } from './facts.js';

const INSTANCE_CHECKS: ((c: MyCheckContext) => CheckResult[])[] = [
  (c) => sshTunnelChecks('my', c.cfg, c.online),
  connectionChecks,
  discoveryFailureChecks,
  serverPairChecks,
  serverSettingChecks,
  sourceBinlogChecks,
  gtidAndServerIdChecks,
  binlogRetentionChecks,
  targetReplicationChecks,
  selectionChecks,
];

const DATABASE_CHECKS: ((c: MyDbCheckContext) => CheckResult[])[] = [databaseSizeChecks, targetDatabaseChecks, databaseContentChecks];

export function evaluateMysql(f: MyFacts, cfg: MigrationConfig): CheckResult[] {
  const c = myCheckContext(f, cfg);
  return [
    ...INSTANCE_CHECKS.flatMap((check) => check(c)),
    ...c.dbs.flatMap((d) => {
      const db = myDbCheckContext(c, d);
      return DATABASE_CHECKS.flatMap((check) => check(db));
    }),
  ];
}
