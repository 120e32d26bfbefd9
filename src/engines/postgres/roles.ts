/** Creating the source's roles on the target (instance level, once per migration). */
import type { MigrationConfig } from '../../config/types.js';
import { withPg, type PgClient } from './connect.js';
import { createRoleStatements, membershipStatements, roleSettingStatements, type SourceRole } from './roles-sql.js';
import { qi } from './sql.js';

export interface RolesResult {
  created: string[];
  existing: string[];
  superusersSkipped: string[];
  warnings: string[];
}

/** The source's roles (pg_* left out), their memberships and their per-role settings. */
function readSourceRoles(cfg: MigrationConfig) {
  return withPg('source', cfg.source, { readOnly: true }, async (c) => {
    const roles = (
      await c.query<{
        name: string;
        superuser: boolean;
        inherit: boolean;
        createrole: boolean;
        createdb: boolean;
        login: boolean;
        replication: boolean;
        bypassrls: boolean;
        connlimit: number;
        valid_until: string | null;
      }>(
        `SELECT rolname AS name, rolsuper AS superuser, rolinherit AS inherit, rolcreaterole AS createrole, rolcreatedb AS createdb, rolcanlogin AS login,
                rolreplication AS replication, rolbypassrls AS bypassrls, rolconnlimit AS connlimit, rolvaliduntil::text AS valid_until
           FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`,
      )
    ).rows;
    const members = (
      await c.query<{ role: string; member: string; admin: boolean }>(
        `SELECT r.rolname AS role, m.rolname AS member, a.admin_option AS admin FROM pg_auth_members a
           JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2`,
      )
    ).rows;
    const settings = (
      await c.query<{ role: string; config: string[] }>(
        `SELECT r.rolname AS role, s.setconfig AS config FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = 0 ORDER BY 1`,
      )
    ).rows;
    return { roles, members, settings };
  });
}

export async function migrateRoles(cfg: MigrationConfig): Promise<RolesResult> {
  const src = await readSourceRoles(cfg);
  const superusers = src.roles.filter((r) => r.superuser).map((r) => r.name);
  const wanted: SourceRole[] = src.roles
    .filter((r) => !r.superuser && !cfg.roles.exclude.includes(r.name))
    .map((r) => ({
      name: r.name,
      inherit: r.inherit,
      createrole: r.createrole,
      createdb: r.createdb,
      login: r.login,
      replication: r.replication,
      bypassrls: r.bypassrls,
      connlimit: r.connlimit,
      validUntil: r.valid_until === 'infinity' ? null : r.valid_until,
    }));
  return withPg('target', cfg.target, {}, async (c) => {
    const existingRows = (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname);
    const existing = new Set(existingRows);
    const powers = (
      await c.query<{ superuser: boolean; createrole: boolean; createdb: boolean; v: string }>(
        `SELECT rolsuper AS superuser, rolcreaterole AS createrole, rolcreatedb AS createdb, current_setting('server_version_num') AS v FROM pg_roles WHERE rolname = current_user`,
      )
    ).rows[0];
    const plan = createRoleStatements(wanted, existing, {
      superuser: powers?.superuser ?? false,
      createrole: powers?.createrole ?? false,
      createdb: powers?.createdb ?? false,
      versionNum: Number(powers?.v ?? 0),
    });
    const created = wanted.filter((r) => !existing.has(r.name)).map((r) => r.name);
    await c.query('BEGIN');
    try {
      for (const st of plan.statements) await c.query(st);
      const present = new Set([...existing, ...created]);
      const mine = new Set(created);
      // Memberships and settings only for the roles created here: existing roles are left as they are.
      // A membership the target user may not grant (no ADMIN OPTION on the role) is left out and listed.
      const mineMembers = src.members.filter((m) => mine.has(m.member) || mine.has(m.role));
      const grantable = await grantableRoles(c, powers?.superuser === true, powers?.createrole === true, Number(powers?.v ?? 0));
      const refused = mineMembers.filter((m) => present.has(m.role) && present.has(m.member) && !grantable.has(m.role));
      for (const st of membershipStatements(
        mineMembers.filter((m) => grantable.has(m.role)),
        present,
      ))
        await c.query(st);
      if (refused.length)
        plan.warnings.push(
          `membership(s) not granted (the target user may not grant these roles): ${refused.map((m) => `${m.member} in ${m.role}`).join(', ')}`,
        );
      for (const st of roleSettingStatements(
        src.settings.filter((s) => mine.has(s.role)),
        present,
      ))
        await c.query(st);
      // A target user that is not a superuser may give objects only to roles it is a member of, and
      // create objects in their schemas only with their privileges: it takes membership in the
      // roles it created, as one does before pg_restore on a managed server.
      if (!powers?.superuser && created.length) {
        for (const r of created) await c.query(`GRANT ${qi(r)} TO CURRENT_USER`);
        plan.warnings.push(
          `the target user was made a member of the ${created.length} created role(s) so that their objects can be given to them`,
        );
      }
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    return {
      created,
      existing: wanted.filter((r) => existing.has(r.name)).map((r) => r.name),
      superusersSkipped: superusers,
      warnings: plan.warnings,
    };
  });
}

/**
 * Roles whose membership the target user may grant: all for a superuser; before 16, CREATEROLE
 * grants any non-superuser role; since 16, only roles it holds with ADMIN OPTION (which it gets
 * on every role it creates).
 */
async function grantableRoles(c: PgClient, superuser: boolean, createrole: boolean, versionNum: number): Promise<Set<string>> {
  const condition = superuser
    ? 'true'
    : versionNum < 160000 && createrole
      ? 'NOT rolsuper'
      : "pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION')";
  return new Set((await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE ${condition}`)).rows.map((r) => r.rolname));
}
