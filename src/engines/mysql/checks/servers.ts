/** MySQL / MariaDB checks of the two servers: connectivity, SSL, discovery, identity, versions, settings. Pure. */
import { describeServer } from '../../../config/connection.js';
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import type { MyCheckContext } from './context.js';

/** `my.<role>.connectivity` and `my.<role>.ssl`, source then target. */
export function connectionChecks({ f, cfg }: MyCheckContext): CheckResult[] {
  const out: CheckResult[] = [];
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
  return out;
}

/** `my.discovery`: both servers answered, but listing the databases failed. */
export function discoveryFailureChecks({ f }: MyCheckContext): CheckResult[] {
  return f.discoveryFailure ? [fail('my.discovery', f.discoveryFailure.message, f.discoveryFailure.hint)] : [];
}

/** Major and minor version together (80036 -> 800, 101102 -> 1011): a downgrade is to a lower one. */
const major = (n: number): number => Math.floor(n / 100);

/** `my.same_server` and `my.version`: two different servers, no downgrade, a warning across MySQL and MariaDB. */
export function serverPairChecks({ src, tgt }: MyCheckContext): CheckResult[] {
  if (!src || !tgt) return [];
  const out: CheckResult[] = [];
  const same =
    (src.vars.server_uuid && src.vars.server_uuid === tgt.vars.server_uuid) ||
    (src.vars.hostname === tgt.vars.hostname && src.vars.port === tgt.vars.port && src.vars.server_id === tgt.vars.server_id);
  if (same) out.push(fail('my.same_server', 'source and target are the same server', 'Point target at the new server.'));
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
  return out;
}

/** `my.lower_case_table_names` and `my.sql_mode`: server settings that change how the data and routines behave. */
export function serverSettingChecks({ src, tgt }: MyCheckContext): CheckResult[] {
  if (!src || !tgt) return [];
  const out: CheckResult[] = [];
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
  return out;
}
