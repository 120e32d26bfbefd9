/** SQL to recreate roles on the target: attributes, memberships, settings; never passwords. Pure. */
import { qi, ql } from './sql.js';

export interface SourceRole {
  name: string;
  inherit: boolean;
  createrole: boolean;
  createdb: boolean;
  login: boolean;
  replication: boolean;
  bypassrls: boolean;
  connlimit: number;
  validUntil: string | null;
}

export interface TargetPowers {
  superuser: boolean;
  createrole: boolean;
  createdb: boolean;
  versionNum: number;
}

export interface RolePlan {
  statements: string[];
  /** Attributes left out because the target user may not grant them. */
  warnings: string[];
}

const LIST_GUCS = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'local_preload_libraries',
  'shared_preload_libraries',
]);

/** `ALTER ROLE ... SET name TO value` for one `name=value` setconfig item, as pg_dumpall writes it. */
export function settingClause(item: string): string {
  const eq = item.indexOf('=');
  const name = item.slice(0, eq);
  const value = item.slice(eq + 1);
  if (LIST_GUCS.has(name.toLowerCase())) {
    return `SET ${qi(name)} TO ${value
      .split(/,\s*/)
      .map((v) => ql(v))
      .join(', ')}`;
  }
  return `SET ${qi(name)} TO ${ql(value)}`;
}

export function createRoleStatements(roles: SourceRole[], existing: ReadonlySet<string>, powers: TargetPowers): RolePlan {
  const statements: string[] = [];
  const warnings: string[] = [];
  for (const r of roles) {
    if (existing.has(r.name)) continue;
    const attrs: string[] = [r.inherit ? 'INHERIT' : 'NOINHERIT', r.login ? 'LOGIN' : 'NOLOGIN'];
    const lost: string[] = [];
    const want = (flag: boolean, attr: string, allowed: boolean): void => {
      if (!flag) {
        attrs.push(`NO${attr}`);
        return;
      }
      if (allowed) attrs.push(attr);
      else lost.push(attr);
    };
    const su = powers.superuser;
    want(r.createrole, 'CREATEROLE', su || powers.createrole);
    want(r.createdb, 'CREATEDB', su || powers.createdb);
    // Only a superuser may grant these (before PostgreSQL 16 always; since 16, only one who has them).
    want(r.replication, 'REPLICATION', su);
    want(r.bypassrls, 'BYPASSRLS', su);
    if (r.connlimit >= 0) attrs.push(`CONNECTION LIMIT ${r.connlimit}`);
    if (r.validUntil) attrs.push(`VALID UNTIL ${ql(r.validUntil)}`);
    statements.push(`CREATE ROLE ${qi(r.name)} WITH ${attrs.join(' ')}`);
    if (lost.length) warnings.push(`role ${r.name} created without ${lost.join(', ')} (needs superuser on the target)`);
  }
  return { statements, warnings };
}

export function membershipStatements(members: { role: string; member: string; admin: boolean }[], present: ReadonlySet<string>): string[] {
  return members
    .filter((m) => present.has(m.role) && present.has(m.member))
    .map((m) => `GRANT ${qi(m.role)} TO ${qi(m.member)}${m.admin ? ' WITH ADMIN OPTION' : ''}`);
}

export function roleSettingStatements(settings: { role: string; config: string[] }[], present: ReadonlySet<string>): string[] {
  return settings
    .filter((s) => present.has(s.role))
    .flatMap((s) => s.config.map((item) => `ALTER ROLE ${qi(s.role)} ${settingClause(item)}`));
}
