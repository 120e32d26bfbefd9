/** Comparing two PostgreSQL databases: a normalised catalog description and per-table data hashes. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import type { PgServer } from './servers.js';

const run = promisify(execFile);

async function q<T extends pg.QueryResultRow>(s: PgServer, db: string, sql: string): Promise<T[]> {
  const c = new pg.Client({
    host: s.host,
    port: s.port,
    user: s.user,
    database: db,
    options: '-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3 -c bytea_output=hex -c IntervalStyle=postgres',
  });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

const USER = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry') AND n.nspname NOT LIKE 'pg\\_toast%'`;

/**
 * One line per object: relations (kind, persistence, owner, ACL, comment, RLS), columns, constraints,
 * indexes, triggers, policies, rules, views, functions, types, sequences, extensions, large objects.
 * `sameMajor` adds deparsed view and policy text, whose formatting varies across majors.
 */
export async function catalogDescription(s: PgServer, db: string, sameMajor: boolean): Promise<string[]> {
  const rows = await q<{ line: string }>(
    s,
    db,
    `SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || c.relkind::text || c.relpersistence::text || ' owner=' || pg_get_userbyid(c.relowner)
            || ' acl=' || coalesce(c.relacl::text, '-') || ' rls=' || c.relrowsecurity::text || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
            || CASE WHEN c.relkind = 'm' THEN ' populated=' || c.relispopulated::text ELSE '' END
            || CASE WHEN c.relispartition THEN ' partition ' || pg_get_expr(c.relpartbound, c.oid) ELSE '' END AS line
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
     UNION ALL
     SELECT 'col ' || n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' nn=' || a.attnotnull::text
            || ' def=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-') || ' gen=' || a.attgenerated::text || ' id=' || a.attidentity::text
            || ' acl=' || coalesce(a.attacl::text, '-') || ' comment=' || coalesce(col_description(c.oid, a.attnum), '-')
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE ${USER} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     UNION ALL
     SELECT 'con ' || n.nspname || '.' || c.relname || '.' || co.conname || ' ' || pg_get_constraintdef(co.oid)
       FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER}
     UNION ALL
     SELECT 'idx ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER}
     UNION ALL
     SELECT 'trg ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER} AND NOT t.tgisinternal
     UNION ALL
     SELECT 'pol ' || n.nspname || '.' || c.relname || '.' || p.polname || ' ' || p.polcmd::text || ' roles=' || (SELECT string_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r) END, ',' ORDER BY 1) FROM unnest(p.polroles) r)
            ${sameMajor ? " || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')" : ''}
       FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     UNION ALL
     SELECT 'rule ' || n.nspname || '.' || c.relname || '.' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER} AND r.rulename <> '_RETURN'
     UNION ALL
     SELECT 'view ' || n.nspname || '.' || c.relname ${sameMajor ? " || ' ' || pg_get_viewdef(c.oid)" : ''} FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${USER} AND c.relkind IN ('v', 'm')
     UNION ALL
     SELECT 'fn ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || p.prokind::text || ' owner=' || pg_get_userbyid(p.proowner) || ' md5=' || md5(p.prosrc)
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${USER} AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
     UNION ALL
     SELECT 'type ' || n.nspname || '.' || t.typname || ' ' || t.typtype::text || coalesce(' enum=' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE ${USER} AND t.typtype IN ('e', 'd', 'c', 'r') AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
       AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
     UNION ALL
     SELECT 'seq ' || schemaname || '.' || sequencename || ' state=' || (xpath('/row/v/text()', query_to_xml(format(
              $q$SELECT last_value || ',' || is_called AS v FROM %I.%I$q$, schemaname, sequencename), false, true, '')))[1]::text
       FROM pg_sequences WHERE schemaname <> 'dbferry'
     UNION ALL
     SELECT 'ext ' || extname FROM pg_extension
     UNION ALL
     SELECT 'nsp ' || n.nspname || ' owner=' || pg_get_userbyid(n.nspowner) || ' acl=' || coalesce(n.nspacl::text, '-') || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '-') FROM pg_namespace n WHERE ${USER} AND n.nspname NOT LIKE 'pg\\_temp%'
     UNION ALL
     SELECT 'lo ' || m.oid::text || ' owner=' || pg_get_userbyid(m.lomowner) || ' md5=' || md5(lo_get(m.oid)) FROM pg_largeobject_metadata m`,
  );
  return rows.map((r) => r.line).sort();
}

/**
 * count and an order-independent hash of every row, per table (partition leaves, plain tables,
 * populated materialized views), computed by the server in one statement (query_to_xml runs the
 * per-table query), so databases of thousands of tables compare quickly.
 */
export async function dataHashes(s: PgServer, db: string): Promise<Record<string, string>> {
  const rows = await q<{ t: string; v: string }>(
    s,
    db,
    `SELECT format('%I.%I', n.nspname, c.relname) AS t,
            (xpath('/row/v/text()', query_to_xml(format(
              $q$SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(x::text), 1, 15))::bit(60)::bigint), 0) AS v FROM ONLY %I.%I x$q$, n.nspname, c.relname), false, true, '')))[1]::text AS v
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER} AND c.relkind IN ('r', 'm') AND (c.relkind <> 'm' OR c.relispopulated) ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.v]));
}

/**
 * Per column of every table: count and an order-independent hash of the column's values (text
 * form), so a column that does not round-trip is named, not only its table.
 */
export async function columnHashes(s: PgServer, db: string): Promise<Record<string, string>> {
  const rows = await q<{ k: string; v: string }>(
    s,
    db,
    `SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname) AS k,
            (xpath('/row/v/text()', query_to_xml(format(
              $q$SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(coalesce(%I::text, '<null>')), 1, 15))::bit(60)::bigint), 0) AS v FROM ONLY %I.%I$q$, a.attname, n.nspname, c.relname), false, true, '')))[1]::text AS v
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER} AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.v]));
}

/** pg_dump --schema-only, without the lines that differ between any two dumps. */
export async function schemaDump(s: PgServer, db: string): Promise<string> {
  const { stdout } = await run('pg_dump', ['-h', s.host, '-p', String(s.port), '-U', s.user, '--schema-only', db], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l) && !/^-- Dumped (from|by)/.test(l))
    .join('\n');
}
