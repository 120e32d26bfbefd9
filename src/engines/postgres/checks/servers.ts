/** PostgreSQL checks of the two servers: connectivity, SSL, discovery, same server, versions, pg_dump. Pure. */
import { describeServer } from '../../../config/connection.js';
import { fail, ok, warn, type CheckResult } from '../../checks.js';
import { major, type PgCheckContext } from './context.js';

/** `pg.<role>.connectivity` and `pg.<role>.ssl`, source then target. */
export function connectionChecks({ f, cfg }: PgCheckContext): CheckResult[] {
  const out: CheckResult[] = [];
  for (const role of ['source', 'target'] as const) {
    const s = f[role];
    const server = describeServer(cfg[role]);
    if (!s.connected) {
      out.push(
        fail(`pg.${role}.connectivity`, s.failure.message, s.failure.hint || `Check ${role}.host, ${role}.port and the credentials.`),
      );
      if (s.failure.code === 'SSL_FAILED') out.push(fail(`pg.${role}.ssl`, `ssl=${cfg[role].ssl}: ${s.failure.message}`, s.failure.hint));
      continue;
    }
    out.push(ok(`pg.${role}.connectivity`, `connected to ${server} as ${s.user.name} (PostgreSQL ${s.version})`));
    const mode = cfg[role].ssl;
    if (mode === 'disable') out.push(ok(`pg.${role}.ssl`, 'SSL disabled by configuration'));
    else if (s.ssl) out.push(ok(`pg.${role}.ssl`, `connection encrypted (ssl=${mode})`));
    else if (mode === 'prefer' || mode === 'allow')
      out.push(
        warn(
          `pg.${role}.ssl`,
          `ssl=${mode} but the server does not offer SSL: the connection is not encrypted`,
          `Enable ssl on the server, or set ${role}.ssl: disable to state it explicitly.`,
        ),
      );
    else out.push(fail(`pg.${role}.ssl`, `ssl=${mode} but the connection is not encrypted`, `Enable ssl on the server.`));
  }
  return out;
}

/** `pg.discovery`: both servers answered, but listing the databases failed. */
export function discoveryFailureChecks({ f }: PgCheckContext): CheckResult[] {
  return f.discoveryFailure ? [fail('pg.discovery', f.discoveryFailure.message, f.discoveryFailure.hint)] : [];
}

/** `pg.same_server` and `pg.version`: two different servers, and no downgrade. */
export function serverPairChecks({ src, tgt }: PgCheckContext): CheckResult[] {
  if (!src || !tgt) return [];
  const out: CheckResult[] = [];
  if (src.identity === tgt.identity) {
    out.push(
      fail(
        'pg.same_server',
        `source and target are the same PostgreSQL server (system identifier ${src.identity})`,
        'Point target at the new server; dbferry copies between two servers.',
      ),
    );
  } else {
    out.push(ok('pg.same_server', 'source and target are different servers'));
  }
  const sm = major(src.versionNum);
  const tm = major(tgt.versionNum);
  if (tm < sm)
    out.push(
      fail('pg.version', `source PostgreSQL ${sm} -> target ${tm}: downgrade`, 'Migrate to a target of the same or a newer major version.'),
    );
  else out.push(ok('pg.version', `source PostgreSQL ${src.version} -> target ${tgt.version}`));
  return out;
}

/** `pg.pg_dump`: a pg_dump at least as new as the source. */
export function pgDumpChecks({ f, src }: PgCheckContext): CheckResult[] {
  if (!src) return [];
  const need = major(src.versionNum);
  if (f.pgDump.best) return [ok('pg.pg_dump', `pg_dump ${f.pgDump.best.version} at ${f.pgDump.best.path} (needs >= ${need})`)];
  const seen = f.pgDump.found.map((t) => `${t.path} (${t.version})`);
  return [
    fail(
      'pg.pg_dump',
      `no pg_dump of major >= ${need} found${seen.length ? `; found ${seen.join(', ')}` : ''}`,
      `Install it (Debian: apt-get install postgresql-client-${need}) or pass --pgbin <directory of pg_dump>.`,
    ),
  ];
}
