/**
 * MySQL / MariaDB binlog replication prerequisites (online only): the source's privileges and
 * binary log, GTIDs, distinct server ids, binlog retention, and the target's replica admin. Pure.
 */
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import { dialectFor, globalPrivileges, hasPrivileges } from '../dialect.js';
import { R, type MyCheckContext } from './context.js';

/** `my.replication_privileges`, `my.log_bin`, `my.binlog_format`, `my.binlog_row_image`: a row-based binlog the user may read. */
export function sourceBinlogChecks({ online, src }: MyCheckContext): CheckResult[] {
  if (!online || !src) return [];
  const out: CheckResult[] = [];
  const d = dialectFor(src.flavor, src.versionNum);
  const priv = hasPrivileges(globalPrivileges(src.grants), d.replicationPrivileges);
  if (priv.ok) out.push(ok('my.replication_privileges', `${src.user} has the replication privileges`, R));
  else
    out.push(
      fail(
        'my.replication_privileges',
        `${src.user} lacks ${priv.missing.join(', ')} on the source`,
        `GRANT ${priv.missing.join(', ')} ON *.* TO ${src.user};`,
        R,
      ),
    );
  if (src.vars.log_bin !== 'ON')
    out.push(
      fail(
        'my.log_bin',
        `log_bin is ${src.vars.log_bin ?? 'OFF'}: the source writes no binary log`,
        'Start the source with log-bin (and binlog-format=ROW); this needs a restart.',
        R,
      ),
    );
  else out.push(ok('my.log_bin', 'binary log is on', R));
  if (src.vars.binlog_format !== 'ROW')
    out.push(
      fail(
        'my.binlog_format',
        `binlog_format is ${src.vars.binlog_format}, replication needs ROW`,
        "SET GLOBAL binlog_format = 'ROW'; (and binlog-format=ROW in the server's config)",
        R,
      ),
    );
  else out.push(ok('my.binlog_format', 'binlog_format is ROW', R));
  if ((src.vars.binlog_row_image ?? 'FULL') !== 'FULL')
    out.push(
      fail(
        'my.binlog_row_image',
        `binlog_row_image is ${src.vars.binlog_row_image}, replication needs FULL`,
        "SET GLOBAL binlog_row_image = 'FULL';",
        R,
      ),
    );
  else out.push(ok('my.binlog_row_image', 'binlog_row_image is FULL', R));
  return out;
}

/** `my.gtid` and `my.server_id`: the replica positions by GTID, and the two servers have different ids. */
export function gtidAndServerIdChecks({ online, src, tgt }: MyCheckContext): CheckResult[] {
  if (!online || !src) return [];
  const out: CheckResult[] = [];
  if (src.flavor === 'mysql') {
    if (src.vars.gtid_mode !== 'ON')
      out.push(
        fail(
          'my.gtid',
          `gtid_mode is ${src.vars.gtid_mode ?? 'OFF'}, replication needs ON`,
          'SET GLOBAL enforce_gtid_consistency = ON; then step gtid_mode to ON (OFF_PERMISSIVE, ON_PERMISSIVE, ON).',
          R,
        ),
      );
    else out.push(ok('my.gtid', 'gtid_mode is ON', R));
  } else out.push(ok('my.gtid', `MariaDB GTID positions are usable (gtid_binlog_pos ${src.vars.gtid_binlog_pos || 'empty'})`, R));
  if (tgt && src.vars.server_id === tgt.vars.server_id)
    out.push(
      fail(
        'my.server_id',
        `source and target both have server_id ${src.vars.server_id}`,
        `SET GLOBAL server_id = <a different number>; on the target.`,
        R,
      ),
    );
  else if (tgt) out.push(ok('my.server_id', `server_id ${src.vars.server_id} (source) and ${tgt.vars.server_id} (target) differ`, R));
  return out;
}

/** `my.binlog_retention`: binary logs outlive a long copy. */
export function binlogRetentionChecks({ online, src }: MyCheckContext): CheckResult[] {
  if (!online || !src) return [];
  const secs = Number(src.vars.binlog_expire_logs_seconds ?? 0) || Number(src.vars.expire_logs_days ?? 0) * 86400;
  if (secs > 0 && secs < 86400)
    return [
      warn(
        'my.binlog_retention',
        `binary logs are kept ${Math.round(secs / 3600)} h: a long copy could outlive them`,
        'SET GLOBAL binlog_expire_logs_seconds = 604800;',
        R,
      ),
    ];
  return [
    ok(
      'my.binlog_retention',
      secs === 0 ? 'binary logs are not expired automatically' : `binary logs are kept ${Math.round(secs / 86400)} day(s)`,
      R,
    ),
  ];
}

/** `my.target.replication_admin`: the target user may configure the replica. */
export function targetReplicationChecks({ online, tgt }: MyCheckContext): CheckResult[] {
  if (!online || !tgt) return [];
  const d = dialectFor(tgt.flavor, tgt.versionNum);
  const priv = hasPrivileges(globalPrivileges(tgt.grants), d.replicaAdminPrivileges);
  if (priv.ok) return [ok('my.target.replication_admin', `${tgt.user} may configure replication on the target`, R)];
  return [
    fail(
      'my.target.replication_admin',
      `${tgt.user} lacks ${priv.missing.join(', ')} on the target`,
      `GRANT ${priv.missing.join(', ')} ON *.* TO ${tgt.user};`,
      R,
    ),
  ];
}
