/** MySQL / MariaDB pre-migration check, as Aiven's migration_check and more: facts -> results. Pure. */
import { missingDatabaseChecks, selectionCheck } from '../selection.js';
import { describeServer } from '../../config/connection.js';
import type { MigrationConfig } from '../../config/types.js';
import { formatBytes } from '../../util/sizes.js';
import { fail, ok, sshTunnelChecks, warn, type CheckResult, targetEmptyCheck } from '../checks.js';
import { dialectFor, globalPrivileges, hasPrivileges, transferForm } from './dialect.js';
import type { MyFacts } from './facts.js';

const list = (xs: string[], max = 8): string =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;

export function evaluateMysql(f: MyFacts, cfg: MigrationConfig): CheckResult[] {
  const out: CheckResult[] = [];
  const online = cfg.mode === 'online' && cfg.method !== 'dump';
  out.push(...sshTunnelChecks('my', cfg, online));
  const R = { replication: true } as const;
  for (const role of ['source', 'target'] as const) {
    const s = f[role];
    if (!s.connected) {
      out.push(
        fail(`my.${role}.connectivity`, s.failure.message, s.failure.hint || `Check ${role}.host, ${role}.port and the credentials.`),
      );
      continue;
    }
    out.push(
      ok(
        `my.${role}.connectivity`,
        `connected to ${describeServer(cfg[role])} as ${s.user} (${s.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${s.version})`,
      ),
    );
    const mode = cfg[role].ssl;
    if (mode === 'disable') out.push(ok(`my.${role}.ssl`, 'SSL disabled by configuration'));
    else if (s.ssl) out.push(ok(`my.${role}.ssl`, `connection encrypted (ssl=${mode})`));
    else if (mode === 'prefer' || mode === 'allow')
      out.push(
        warn(
          `my.${role}.ssl`,
          `ssl=${mode} but the server does not offer SSL: the connection is not encrypted`,
          `Enable SSL on the server, or set ${role}.ssl: disable.`,
        ),
      );
    else out.push(fail(`my.${role}.ssl`, `ssl=${mode} but the connection is not encrypted`, 'Enable SSL on the server.'));
  }
  const src = f.source.connected ? f.source : undefined;
  const tgt = f.target.connected ? f.target : undefined;
  if (f.discoveryFailure) out.push(fail('my.discovery', f.discoveryFailure.message, f.discoveryFailure.hint));
  if (src && tgt) {
    const same =
      (src.vars.server_uuid && src.vars.server_uuid === tgt.vars.server_uuid) ||
      (src.vars.hostname === tgt.vars.hostname && src.vars.port === tgt.vars.port && src.vars.server_id === tgt.vars.server_id);
    if (same) out.push(fail('my.same_server', 'source and target are the same server', 'Point target at the new server.'));
    const major = (n: number) => Math.floor(n / 100);
    if (src.flavor === tgt.flavor && major(tgt.versionNum) < major(src.versionNum))
      out.push(
        fail(
          'my.version',
          `source ${src.version} -> target ${tgt.version}: downgrade`,
          'Migrate to a target of the same or a newer version.',
        ),
      );
    else if (src.flavor !== tgt.flavor)
      out.push(
        warn(
          'my.version',
          `source ${src.version} -> target ${tgt.version}: across MySQL and MariaDB`,
          'Check the incompatibilities (JSON, GTIDs, system variables) before migrating.',
        ),
      );
    else out.push(ok('my.version', `source ${src.version} -> target ${tgt.version}`));
    if (src.vars.lower_case_table_names !== tgt.vars.lower_case_table_names)
      out.push(
        fail(
          'my.lower_case_table_names',
          `lower_case_table_names is ${src.vars.lower_case_table_names} on the source, ${tgt.vars.lower_case_table_names} on the target`,
          'Set the same value on the target (it can only be set when the server is initialised).',
        ),
      );
    else out.push(ok('my.lower_case_table_names', `lower_case_table_names ${src.vars.lower_case_table_names} on both`));
    const sm = new Set((src.vars.sql_mode ?? '').split(',').filter(Boolean));
    const tm = new Set((tgt.vars.sql_mode ?? '').split(',').filter(Boolean));
    const onlySrc = [...sm].filter((x) => !tm.has(x));
    const onlyTgt = [...tm].filter((x) => !sm.has(x));
    if (onlySrc.length || onlyTgt.length)
      out.push(
        warn(
          'my.sql_mode',
          `sql_mode differs: only on the source ${onlySrc.join(',') || '-'}; only on the target ${onlyTgt.join(',') || '-'}`,
          `SET GLOBAL sql_mode = '${src.vars.sql_mode ?? ''}' on the target, or check that the data and routines work under the target's modes.`,
        ),
      );
    else out.push(ok('my.sql_mode', 'sql_mode is the same on both'));
  }
  if (online && src) {
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
    const secs = Number(src.vars.binlog_expire_logs_seconds ?? 0) || Number(src.vars.expire_logs_days ?? 0) * 86400;
    if (secs > 0 && secs < 86400)
      out.push(
        warn(
          'my.binlog_retention',
          `binary logs are kept ${Math.round(secs / 3600)} h: a long copy could outlive them`,
          'SET GLOBAL binlog_expire_logs_seconds = 604800;',
          R,
        ),
      );
    else
      out.push(
        ok(
          'my.binlog_retention',
          secs === 0 ? 'binary logs are not expired automatically' : `binary logs are kept ${Math.round(secs / 86400)} day(s)`,
          R,
        ),
      );
  }
  if (online && tgt) {
    const d = dialectFor(tgt.flavor, tgt.versionNum);
    const priv = hasPrivileges(globalPrivileges(tgt.grants), d.replicaAdminPrivileges);
    if (priv.ok) out.push(ok('my.target.replication_admin', `${tgt.user} may configure replication on the target`, R));
    else
      out.push(
        fail(
          'my.target.replication_admin',
          `${tgt.user} lacks ${priv.missing.join(', ')} on the target`,
          `GRANT ${priv.missing.join(', ')} ON *.* TO ${tgt.user};`,
          R,
        ),
      );
  }
  const dbs = f.discovery?.databases ?? [];
  if (f.discovery) {
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
  }
  for (const d of dbs) {
    const name = d.source.name;
    const D = { level: 'database' as const, database: name };
    const facts = f.databases.find((x) => x.name === name);
    out.push(
      ok(
        'my.db.size',
        `${formatBytes(d.source.sizeBytes)}, ${d.source.tables} tables, ~${d.source.rowEstimate} rows, ${d.source.encoding ?? '?'} / ${d.source.collation ?? '?'}`,
        D,
      ),
    );
    const resumePhase = f.discovery?.resumable[name];
    out.push(
      targetEmptyCheck(
        'my',
        { name, exists: d.target.exists, userObjects: d.target.userObjects },
        cfg.databases.overwrite,
        resumePhase ? { phase: resumePhase, what: 'apply copies it again' } : undefined,
      ),
    );
    if (!facts) continue;
    if (facts.nonInnodb.length)
      out.push(
        warn(
          'my.db.engines',
          `non-InnoDB table(s) are not covered by the consistent snapshot: ${list(facts.nonInnodb)}`,
          'ALTER TABLE ... ENGINE=InnoDB, or keep them unchanged during the copy.',
          D,
        ),
      );
    else out.push(ok('my.db.engines', 'every table is InnoDB', D));
    if (src) {
      const unsupported = facts.unusualColumns
        .filter((c) => transferForm(src.flavor, c.type) === null)
        .map((c) => `${c.table}.${c.column} (${c.type})`);
      const converted = facts.unusualColumns
        .filter((c) => transferForm(src.flavor, c.type) === 'text')
        .map((c) => `${c.table}.${c.column} (${c.type})`);
      if (unsupported.length)
        out.push(
          fail(
            'my.db.column_types',
            `column(s) of a type dbferry cannot copy exactly: ${list(unsupported)}`,
            'Exclude their tables with tables.skip, or convert the columns to a supported type.',
            D,
          ),
        );
      else
        out.push(
          ok(
            'my.db.column_types',
            `every column type round-trips${converted.length ? `; loaded through their text form: ${list(converted)}` : ''}`,
            D,
          ),
        );
    }
    if (facts.noKey.length)
      out.push(
        warn(
          'my.db.primary_keys',
          `table(s) without primary or unique key: ${list(facts.noKey)}${online ? '; row-based replication of their updates is slow and the copy cannot be split' : '; the copy cannot be split'}`,
          'Add primary keys.',
          D,
        ),
      );
    else out.push(ok('my.db.primary_keys', 'every table has a primary or unique key', D));
    if (tgt && facts.definers.length) {
      if (tgt.accounts === null)
        out.push(
          warn(
            'my.db.definers',
            `DEFINER accounts could not be checked on the target (no access to mysql.user): ${list(facts.definers)}`,
            'Make sure these accounts exist on the target.',
            D,
          ),
        );
      else {
        const norm = (x: string) => x.replace(/`/g, '');
        const missing = facts.definers.filter((x) => !tgt.accounts?.includes(norm(x)));
        if (missing.length)
          out.push(
            warn(
              'my.db.definers',
              `DEFINER account(s) missing on the target: ${list(missing)}; their views, routines, triggers and events would fail`,
              `CREATE USER ${missing[0]} ... on the target first.`,
              D,
            ),
          );
        else out.push(ok('my.db.definers', `every DEFINER exists on the target (${list(facts.definers)})`, D));
      }
    }
  }
  return out;
}
