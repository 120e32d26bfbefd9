/**
 * pg_dump plain-format output, understood: split into the database-level header and the body,
 * psql meta-commands removed, TOC entries parsed, statements that name roles the target does not
 * have (owners, grants, policies) or extensions left out taken away, and post-data entries tied to
 * their table so indexes can be built as soon as it is loaded. Pure.
 */

export interface DumpEntry {
  name: string;
  type: string;
  schema: string;
  owner: string;
  sql: string;
}

export interface SplitDump {
  /** Statements before `\connect` (with --create): database-level settings, owner, grants. */
  header: DumpEntry[];
  /** Entries after `\connect` (or all, without --create). */
  body: DumpEntry[];
}

const ENTRY = /^--\n-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: (.*)\n--\n/gm;

/** Removes the psql meta-commands pg_dump writes (\restrict, \unrestrict, \connect, \encoding) and returns the plain SQL parts. */
export function splitDump(text: string): SplitDump {
  const connectAt = text.search(/^\\connect .*$/m);
  const headerText = connectAt >= 0 ? text.slice(0, connectAt) : '';
  const bodyText = connectAt >= 0 ? text.slice(connectAt) : text;
  return { header: parseEntries(headerText), body: parseEntries(bodyText) };
}

export function parseEntries(text: string): DumpEntry[] {
  const clean = text.replace(/^\\(restrict|unrestrict|connect|encoding)\b.*$/gm, '');
  const out: DumpEntry[] = [];
  const matches = [...clean.matchAll(ENTRY)];
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i] as RegExpMatchArray;
    const start = (m.index ?? 0) + m[0].length;
    const end = i + 1 < matches.length ? ((matches[i + 1] as RegExpMatchArray).index ?? clean.length) : clean.length;
    const sql = clean
      .slice(start, end)
      .replace(/^--.*$/gm, '')
      .trim();
    if (sql) out.push({ name: m[1] as string, type: m[2] as string, schema: m[3] as string, owner: m[4] as string, sql });
  }
  return out;
}

/** Splits an entry's SQL into statements (pg_dump ends each with `;` at the end of a line). */
export function statements(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let dollar: string | null = null;
  let quote = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i] as string;
    cur += c;
    if (dollar) {
      if (c === '$' && sql.startsWith(dollar, i)) {
        cur += dollar.slice(1);
        i += dollar.length - 1;
        dollar = null;
      }
      continue;
    }
    if (quote) {
      if (c === "'") quote = false;
      continue;
    }
    if (c === "'") quote = true;
    else if (c === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (m) {
        dollar = m[0];
        cur += m[0].slice(1);
        i += m[0].length - 1;
      }
    } else if (c === ';' && (sql[i + 1] === '\n' || i + 1 === sql.length)) {
      out.push(cur.trim());
      cur = '';
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const IDENT = `(?:"(?:[^"]|"")+"|[^\\s."(),;]+)`;
const QNAME = `${IDENT}(?:\\.${IDENT})?`;

export function unquoteIdent(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
}

/** Splits `schema.name` as pg_dump writes it into its two parts. */
export function splitQName(q: string): { schema: string | undefined; name: string } {
  const m = new RegExp(`^(${IDENT})(?:\\.(${IDENT}))?$`).exec(q.trim());
  if (!m) return { schema: undefined, name: q };
  return m[2] !== undefined
    ? { schema: unquoteIdent(m[1] as string), name: unquoteIdent(m[2]) }
    : { schema: undefined, name: unquoteIdent(m[1] as string) };
}

function roleList(text: string): string[] {
  return (text.match(new RegExp(IDENT, 'g')) ?? [])
    .map(unquoteIdent)
    .filter((r) => r.toUpperCase() !== 'PUBLIC' && r.toUpperCase() !== 'CURRENT_USER' && r.toUpperCase() !== 'SESSION_USER');
}

/** Roles a statement names as owner or grantee. */
export function rolesIn(stmt: string): string[] {
  const s = stmt.replace(/\s+/g, ' ').trim();
  const out: string[] = [];
  let m = new RegExp(`\\bOWNER TO (${IDENT});?$`).exec(s);
  if (m) out.push(unquoteIdent(m[1] as string));
  m = /^ALTER DEFAULT PRIVILEGES FOR ROLE (.+?) (?:IN SCHEMA .+? )?(?:GRANT|REVOKE) /.exec(s);
  if (m) out.push(...roleList(m[1] as string));
  m = /\b(?:GRANT|REVOKE)\b.* (?:TO|FROM) (.+?)(?: WITH (?:GRANT|ADMIN) OPTION)?(?: GRANTED BY .+)?;?$/.exec(s);
  if (m && /^(?:GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b/.test(s)) out.push(...roleList(m[1] as string));
  m = /^CREATE POLICY .* TO (.+?)(?: USING| WITH CHECK|;|$)/.exec(s);
  if (m) out.push(...roleList(m[1] as string));
  return [...new Set(out)];
}

/** What the target allows: the roles that exist, and those the target user may make owners. */
export interface TargetRoles {
  existing: ReadonlySet<string>;
  /** Roles the target user may give ownership to (member of them; SET on 16+); 'any' for a superuser. */
  ownable: ReadonlySet<string> | 'any';
}

export interface SkippedStatement {
  /** The dump entry's object, e.g. `TABLE public.orders`. */
  object: string;
  role: string;
  /** owner: the object stays owned by the target user; missing: a grant or policy role not on the target. */
  why: 'owner' | 'missing';
}

export interface FilterResult {
  sql: string;
  skipped: SkippedStatement[];
  extensionsLeftOut: string[];
}

/** Whether `statement` only makes `role` the owner of something. */
const isOwnerChange = (statement: string, role: string): boolean => {
  const m = new RegExp(`\\bOWNER TO (${IDENT});?$`).exec(statement.replace(/\s+/g, ' ').trim());
  return m !== null && unquoteIdent(m[1] as string) === role;
};

/**
 * Drops statements the target would refuse: an ownership change to a role the target user may
 * not give objects to (the object stays owned by the target user), grants and policies naming
 * roles not on the target; CREATE/COMMENT statements of excluded extensions; and dbferry's own
 * publications, which pg_dump carries like any other.
 */
export function filterStatements(entries: DumpEntry[], roles: TargetRoles, excludedExtensions: readonly string[] = []): FilterResult {
  const kept: string[] = [];
  const skipped: SkippedStatement[] = [];
  const extensionsLeftOut: string[] = [];
  for (const e of entries) {
    if (e.type === 'EXTENSION' && excludedExtensions.includes(e.name)) {
      extensionsLeftOut.push(e.name);
      continue;
    }
    if (e.type === 'COMMENT' && /^EXTENSION /.test(e.name) && excludedExtensions.includes(e.name.slice(10))) continue;
    // dbferry's own publications (of this or another online migration) never reach the target.
    if (/^PUBLICATION/.test(e.type) && /^dbferry_/.test(e.name)) continue;
    const object = `${e.type} ${e.schema ? `${e.schema}.` : ''}${e.name}`;
    for (const st of statements(e.sql)) {
      const refused = rolesIn(st).find(
        (r) => !roles.existing.has(r) || (isOwnerChange(st, r) && roles.ownable !== 'any' && !roles.ownable.has(r)),
      );
      if (refused !== undefined) {
        skipped.push({ object, role: refused, why: isOwnerChange(st, refused) ? 'owner' : 'missing' });
        continue;
      }
      kept.push(st.endsWith(';') ? st : `${st};`);
    }
  }
  return { sql: kept.join('\n'), skipped, extensionsLeftOut };
}

/** One line per kind for the run output and status: what was not given to which role. */
export function describeSkipped(skipped: readonly SkippedStatement[], max = 10): string[] {
  const list = (xs: string[]): string => (xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`);
  const owners = [...new Set(skipped.filter((x) => x.why === 'owner').map((x) => `${x.object} (${x.role})`))];
  const missing = [...new Set(skipped.filter((x) => x.why === 'missing').map((x) => `${x.object} (${x.role})`))];
  return [
    ...(owners.length ? [`owned by the target user instead: ${list(owners)}`] : []),
    ...(missing.length ? [`grants and policies for roles not on the target skipped: ${list(missing)}`] : []),
  ];
}

export type PostDataPhase = 'table' | 'after' | 'fk';

export interface PostDataItem {
  entry: DumpEntry;
  phase: PostDataPhase;
  /** schema.table it belongs to (phase table). */
  table: { schema: string; name: string } | null;
}

/** Tables' own indexes and constraints are built as each table is loaded; FKs last; the rest after. */
export function classifyPostData(entries: DumpEntry[]): PostDataItem[] {
  return entries.map((entry) => {
    if (entry.type === 'FK CONSTRAINT') return { entry, phase: 'fk', table: null };
    let m: RegExpExecArray | null = null;
    if (entry.type === 'CONSTRAINT') m = new RegExp(`^ALTER TABLE (?:ONLY )?(${QNAME})\\s`).exec(entry.sql);
    else if (entry.type === 'INDEX') m = new RegExp(`^CREATE (?:UNIQUE )?INDEX (?:${IDENT} )?ON (?:ONLY )?(${QNAME}) `).exec(entry.sql);
    if (m) {
      const q = splitQName(m[1] as string);
      return { entry, phase: 'table', table: { schema: q.schema ?? entry.schema, name: q.name } };
    }
    return { entry, phase: 'after', table: null };
  });
}

export interface PreDataBatch {
  entries: DumpEntry[];
  /** Tables whose definition is complete once this batch has run (their last TABLE / TABLE ATTACH entry is in it). */
  tables: { schema: string; name: string }[];
}

/** Partitions attached per batch: each ATTACH locks its partition until the batch commits. */
const ATTACH_PER_BATCH = 100;

/** Cuts entries, in dump order, into batches of at most `tablesPerBatch` tables and ATTACH_PER_BATCH attachments (their `tables` not yet set). */
function cutBatches(entries: DumpEntry[], tablesPerBatch: number): PreDataBatch[] {
  const batches: PreDataBatch[] = [];
  let cur: DumpEntry[] = [];
  let tables = 0;
  let attached = 0;
  for (const e of entries) {
    cur.push(e);
    if ((e.type === 'TABLE' && ++tables >= tablesPerBatch) || (e.type === 'TABLE ATTACH' && ++attached >= ATTACH_PER_BATCH)) {
      batches.push({ entries: cur, tables: [] });
      cur = [];
      tables = 0;
      attached = 0;
    }
  }
  if (cur.length) batches.push({ entries: cur, tables: [] });
  return batches;
}

/** Fills each batch's `tables`: those whose last TABLE, TABLE ATTACH or identity entry it holds. */
function assignCompletedTables(batches: PreDataBatch[]): void {
  const last = new Map<string, { at: number; schema: string; name: string }>();
  batches.forEach((b, at) => {
    for (const e of b.entries) {
      if (e.type === 'TABLE' || e.type === 'TABLE ATTACH') last.set(`${e.schema}\u0000${e.name}`, { at, schema: e.schema, name: e.name });
      // An identity column's sequence is its own entry: ALTER TABLE t ALTER COLUMN c ADD GENERATED ...
      const m =
        e.type === 'SEQUENCE' ? new RegExp(`^ALTER TABLE (?:ONLY )?(${QNAME}) ALTER COLUMN .* ADD GENERATED `, 'm').exec(e.sql) : null;
      if (m) {
        const q = splitQName(m[1] as string);
        const schema = q.schema ?? e.schema;
        last.set(`${schema}\u0000${q.name}`, { at, schema, name: q.name });
      }
    }
  });
  for (const t of last.values()) batches[t.at]?.tables.push({ schema: t.schema, name: t.name });
}

/** A table a copy worker creates, fills (COPY FREEZE) and indexes in one transaction. */
export interface TableUnit {
  schema: string;
  name: string;
  /** Its TABLE entry. */
  table: DumpEntry;
  /** Its simple keys and indexes, built after the load in the same transaction. */
  indexes: DumpEntry[];
}

/**
 * What the schema connection does, in dump order: run a batch; hand a unit to the copy workers
 * (everything before it is committed by then); wait until units that the next entries name exist.
 */
export type SchemaItem =
  { kind: 'batch'; batch: PreDataBatch } | { kind: 'unit'; unit: TableUnit } | { kind: 'await'; tables: TableUnit[] };

/** A plain CREATE TABLE: not a partition, parent or child; nothing else in pre-data attaches it. */
const PLAIN_CREATE = new RegExp(`^CREATE TABLE ${QNAME} \\(`);
const NOT_PLAIN = /\bPARTITION (?:OF|BY)\b|\bINHERITS \(/;

/** Identifiers a statement names (bare ones folded to lower case), to find the units it depends on. */
export function identifiersIn(sql: string): Set<string> {
  const out = new Set<string>();
  for (const m of sql.matchAll(/"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)/g))
    out.add(m[1] !== undefined ? m[1].replace(/""/g, '"') : (m[2] as string).toLowerCase());
  return out;
}

/**
 * Plans pre-data with the given tables (schema\0name) as units: each eligible TABLE entry leaves
 * the batches and becomes a unit with its simple indexes from `indexes`; an entry that names a
 * pending unit (a sequence owned by it, a default, a comment, a view) waits for it. A name match
 * on the identifier alone may wait for more than needed, never for less.
 */
export function planPreData(
  entries: DumpEntry[],
  unitTables: ReadonlySet<string>,
  indexes: readonly PostDataItem[],
  tablesPerBatch: number,
): { items: SchemaItem[]; moved: Set<PostDataItem> } {
  // A partition is dumped as a plain CREATE TABLE and a later TABLE ATTACH: it can be a unit (the
  // ATTACH waits for it, and checks its rows against the partition bound then).
  const eligible = (e: DumpEntry): boolean =>
    e.type === 'TABLE' && unitTables.has(`${e.schema}\u0000${e.name}`) && PLAIN_CREATE.test(e.sql) && !NOT_PLAIN.test(e.sql);
  const simple = new Map<string, PostDataItem[]>();
  for (const it of indexes) {
    if (!it.table || !isSimpleIndex(it)) continue;
    const k = `${it.table.schema}\u0000${it.table.name}`;
    simple.set(k, [...(simple.get(k) ?? []), it]);
  }
  const moved = new Set<PostDataItem>();
  const items: SchemaItem[] = [];
  const pending = new Map<string, TableUnit[]>();
  let run: DumpEntry[] = [];
  const flush = (): void => {
    for (const batch of cutBatches(run, tablesPerBatch)) items.push({ kind: 'batch', batch });
    run = [];
  };
  for (const e of entries) {
    if (eligible(e)) {
      flush();
      const own = simple.get(`${e.schema}\u0000${e.name}`) ?? [];
      for (const it of own) moved.add(it);
      const unit: TableUnit = { schema: e.schema, name: e.name, table: e, indexes: own.map((it) => it.entry) };
      items.push({ kind: 'unit', unit });
      pending.set(e.name, [...(pending.get(e.name) ?? []), unit]);
      continue;
    }
    if (pending.size) {
      const named = [...identifiersIn(e.sql)].flatMap((id) => pending.get(id) ?? []);
      for (const u of named) pending.delete(u.name);
      // Entries waiting on units one after another (a partition's ATTACH after the other) wait
      // together, before the first of them: waiting earlier is always safe, and they stay one batch.
      // (The last item is an await only while `run` holds the entries that came after it.)
      const waiting = items[items.length - 1];
      if (named.length && waiting?.kind === 'await') waiting.tables.push(...named);
      else if (named.length) {
        flush();
        items.push({ kind: 'await', tables: named });
      }
    }
    run.push(e);
  }
  flush();
  // A batch's tables are complete once their last entry ran, across the whole plan.
  assignCompletedTables(items.flatMap((i) => (i.kind === 'batch' ? [i.batch] : [])));
  return { items, moved };
}

const COLS = `\\(${IDENT}(?:, ${IDENT})*\\)`;
const SIMPLE_KEY = new RegExp(`^ALTER TABLE (?:ONLY )?${QNAME}\\s+ADD CONSTRAINT ${IDENT} (?:PRIMARY KEY|UNIQUE) ${COLS};?$`);
const SIMPLE_INDEX = new RegExp(`^CREATE (?:UNIQUE )?INDEX ${IDENT} ON (?:ONLY )?${QNAME} USING btree ${COLS};?$`);

/** A primary key, unique constraint or btree index on plain columns: it depends on nothing but its table. */
export function isSimpleIndex(item: PostDataItem): boolean {
  return item.phase === 'table' && (SIMPLE_KEY.test(item.entry.sql.trim()) || SIMPLE_INDEX.test(item.entry.sql.trim()));
}
