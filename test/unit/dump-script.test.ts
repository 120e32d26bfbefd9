import { describe, expect, it } from 'vitest';
import {
  classifyPostData,
  describeSkipped,
  identifiersIn,
  planPreData,
  filterStatements,
  parseEntries,
  rolesIn,
  splitDump,
  splitQName,
  statements,
} from '../../src/engines/postgres/dump-script.js';

const PRE = `--
-- PostgreSQL database dump
--

\\restrict abc

SET statement_timeout = 0;

--
-- Name: shop; Type: DATABASE; Schema: -; Owner: app
--

CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8';


ALTER DATABASE shop OWNER TO app;

\\unrestrict abc
\\connect shop
\\restrict abc

--
-- Name: sales; Type: SCHEMA; Schema: -; Owner: app
--

CREATE SCHEMA sales;


ALTER SCHEMA sales OWNER TO app;

--
-- Name: f(); Type: FUNCTION; Schema: public; Owner: legacy
--

CREATE FUNCTION public.f() RETURNS text
    LANGUAGE sql
    AS $_$SELECT 'a;
b'$_$;


ALTER FUNCTION public.f() OWNER TO legacy;

--
-- Name: TABLE t; Type: ACL; Schema: public; Owner: app
--

GRANT SELECT ON TABLE public.t TO reader, "Odd Role";
REVOKE ALL ON TABLE public.t FROM PUBLIC;

--
-- Name: hstore; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public;

\\unrestrict abc
`;

describe('pg_dump script', () => {
  it('splits header and body and drops meta-commands', () => {
    const d = splitDump(PRE);
    expect(d.header.map((e) => e.type)).toEqual(['DATABASE']);
    expect(d.body.map((e) => e.type)).toEqual(['SCHEMA', 'FUNCTION', 'ACL', 'EXTENSION']);
    expect(JSON.stringify(d)).not.toContain('\\\\restrict');
  });

  it('splits statements without breaking dollar quotes', () => {
    const fn = splitDump(PRE).body[1]!;
    const st = statements(fn.sql);
    expect(st).toHaveLength(2);
    expect(st[0]).toContain("'a;\nb'");
  });

  it('finds the roles a statement names', () => {
    expect(rolesIn('ALTER TABLE public.t OWNER TO "App Owner";')).toEqual(['App Owner']);
    expect(rolesIn('GRANT SELECT ON TABLE public.t TO reader, "Odd Role";')).toEqual(['reader', 'Odd Role']);
    expect(rolesIn('REVOKE ALL ON TABLE public.t FROM PUBLIC;')).toEqual([]);
    expect(rolesIn('ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO reader;')).toEqual(['app', 'reader']);
    expect(rolesIn('CREATE POLICY p ON public.t TO sales_team USING (true);')).toEqual(['sales_team']);
    expect(rolesIn('CREATE TABLE public.t (owner_to text);')).toEqual([]);
  });

  it('filters statements naming roles missing on the target, and excluded extensions', () => {
    const r = filterStatements(splitDump(PRE).body, { existing: new Set(['app', 'reader']), ownable: 'any' }, ['hstore']);
    expect(r.sql).toContain('CREATE SCHEMA sales;');
    expect(r.sql).toContain('ALTER SCHEMA sales OWNER TO app;');
    expect(r.sql).not.toContain('OWNER TO legacy');
    expect(r.sql).not.toContain('"Odd Role"');
    expect(r.sql).not.toContain('hstore');
    expect(r.sql).toContain('REVOKE ALL ON TABLE public.t FROM PUBLIC;');
    expect(r.skipped).toHaveLength(2);
    expect(r.extensionsLeftOut).toEqual(['hstore']);
  });

  it('keeps ownership with the target user where it may not give it (managed targets)', () => {
    // The target user is a member of app only: objects of other roles stay its own, grants to existing roles stay.
    const r = filterStatements(
      splitDump(PRE).body,
      { existing: new Set(['app', 'reader', 'legacy', 'postgres']), ownable: new Set(['app']) },
      [],
    );
    expect(r.sql).toContain('ALTER SCHEMA sales OWNER TO app;');
    expect(r.sql).not.toContain('OWNER TO legacy');
    expect(r.skipped.filter((x) => x.why === 'owner').map((x) => x.role)).toContain('legacy');
    const lines = describeSkipped(r.skipped);
    expect(lines[0]).toMatch(/^owned by the target user instead: .*\(legacy\)/);
  });

  it('ties indexes and constraints to their table; FKs last', () => {
    const post = parseEntries(`--
-- Name: Odd "T" Odd "T"_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public."Odd ""T"""
    ADD CONSTRAINT "Odd ""T""_pkey" PRIMARY KEY (id);

--
-- Name: i; Type: INDEX; Schema: s; Owner: postgres
--

CREATE UNIQUE INDEX i ON ONLY s.p USING btree (a);

--
-- Name: p1_pkey; Type: INDEX ATTACH; Schema: public; Owner: postgres
--

ALTER INDEX public.p_pkey ATTACH PARTITION public.p1_pkey;

--
-- Name: t fk; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.t
    ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES public.u(id);
`);
    expect(classifyPostData(post).map((p) => [p.phase, p.table ? `${p.table.schema}.${p.table.name}` : null])).toEqual([
      ['table', 'public.Odd "T"'],
      ['table', 's.p'],
      ['after', null],
      ['fk', null],
    ]);
    expect(splitQName('"a.b"."c""d"')).toEqual({ schema: 'a.b', name: 'c"d' });
  });
});

describe('pre-data batches', () => {
  const e = (type: string, name: string, sql = `-- ${name}`, schema = 'public') => ({ type, name, schema, owner: 'o', sql });
  it('cuts in dump order and releases each table with its last TABLE, TABLE ATTACH or identity entry', () => {
    const entries = [
      e('SCHEMA', 's', 'CREATE SCHEMA s;', '-'),
      e('TABLE', 'a'),
      e('TABLE', 'p'),
      e('TABLE', 'p1'),
      e('TABLE', 'we.ird'),
      e(
        'SEQUENCE',
        'we.ird_id_seq',
        'ALTER TABLE public."we.ird" ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n    SEQUENCE NAME public."we.ird_id_seq"\n);',
      ),
      e('VIEW', 'v'),
      e('TABLE ATTACH', 'p1'),
    ];
    const batches = (tablesPerBatch: number) =>
      planPreData(entries, new Set(), [], tablesPerBatch).items.flatMap((i) => (i.kind === 'batch' ? [i.batch] : []));
    const b = batches(2);
    expect(b.map((x) => x.entries.map((y) => y.name))).toEqual([
      ['s', 'a', 'p'],
      ['p1', 'we.ird'],
      ['we.ird_id_seq', 'v', 'p1'],
    ]);
    expect(b.map((x) => x.tables.map((t) => t.name).sort())).toEqual([['a', 'p'], [], ['p1', 'we.ird']]);
    expect(batches(100)).toHaveLength(1);
    expect(planPreData([], new Set(), [], 8).items).toEqual([]);
  });
});

describe('table units: small plain tables created, filled and indexed by a copy worker', () => {
  const entry = (type: string, name: string, sql: string, schema = 'public') => ({ type, name, schema, owner: 'o', sql });
  const item = (sql: string, table: string) => ({
    entry: { type: sql.startsWith('ALTER') ? 'CONSTRAINT' : 'INDEX', name: 'x', schema: 'public', owner: 'o', sql },
    phase: 'table' as const,
    table: { schema: 'public', name: table },
  });
  const units = (...names: string[]) => new Set(names.map((n) => `public\u0000${n}`));
  it('takes plain tables of the set with their simple indexes, partitions too; parents and children stay in batches', () => {
    const entries = [
      entry('SCHEMA', 's', 'CREATE SCHEMA s;', '-'),
      entry('TABLE', 'a', 'CREATE TABLE public.a (\n    id integer NOT NULL,\n    v text\n);'),
      entry('TABLE', 'p', 'CREATE TABLE public.p (\n    id integer\n)\nPARTITION BY RANGE (id);'),
      entry('TABLE', 'p1', 'CREATE TABLE public.p1 (\n    id integer\n);'),
      entry('TABLE', 'c', 'CREATE TABLE public.c (\n    x int\n)\nINHERITS (public.a);'),
      entry('TABLE', 'big', 'CREATE TABLE public.big (\n    id integer\n);'),
      entry('TABLE ATTACH', 'p1', 'ALTER TABLE ONLY public.p ATTACH PARTITION public.p1 FOR VALUES FROM (0) TO (10);'),
    ];
    const pk = item('ALTER TABLE ONLY public.a\n    ADD CONSTRAINT a_pkey PRIMARY KEY (id);', 'a');
    const ix = item('CREATE INDEX a_v ON public.a USING btree (v);', 'a');
    const expr = item('CREATE INDEX a_lower ON public.a USING btree (lower(v));', 'a');
    const bigPk = item('ALTER TABLE ONLY public.big\n    ADD CONSTRAINT big_pkey PRIMARY KEY (id);', 'big');
    const r = planPreData(entries, units('a', 'p', 'p1', 'c'), [pk, ix, expr, bigPk], 100);
    expect(
      r.items.map((i) =>
        i.kind === 'unit'
          ? `unit ${i.unit.name}`
          : i.kind === 'batch'
            ? i.batch.entries.map((e) => e.name).join(',')
            : `await ${i.tables.map((t) => t.name).join(',')}`,
      ),
    ).toEqual(['s', 'unit a', 'p', 'unit p1', 'await a,p1', 'c,big,p1']); // c inherits from a, p1's ATTACH names p1
    const unit = r.items[1];
    expect(unit?.kind === 'unit' && unit.unit.indexes.map((e) => e.sql)).toEqual([pk.entry.sql, ix.entry.sql]);
    expect([...r.moved]).toEqual([pk, ix]);
  });
  it('partitions: one wait for every unit the ATTACH entries after it name; ATTACHes 100 per batch', () => {
    const parts = Array.from({ length: 150 }, (_, i) => `p${i}`);
    const entries = [
      entry('TABLE', 'p', 'CREATE TABLE public.p (\n    id integer\n)\nPARTITION BY RANGE (id);'),
      ...parts.map((n) => entry('TABLE', n, `CREATE TABLE public.${n} (\n    id integer\n);`)),
      ...parts.map((n, i) =>
        entry('TABLE ATTACH', n, `ALTER TABLE ONLY public.p ATTACH PARTITION public.${n} FOR VALUES FROM (${i}) TO (${i + 1});`),
      ),
    ];
    const r = planPreData(entries, units(...parts), [], 8);
    const kinds = r.items.map((i) => (i.kind === 'batch' ? `batch ${i.batch.entries.length}` : i.kind));
    expect(kinds).toEqual(['batch 1', ...parts.map(() => 'unit'), 'await', 'batch 100', 'batch 50']);
    const wait = r.items[151];
    expect(wait?.kind === 'await' && wait.tables.map((t) => t.name)).toEqual(parts);
  });
  it('waits for a unit before an entry that names it (its sequence, default, comment, a view), and only then', () => {
    const entries = [
      entry('TABLE', 'a', 'CREATE TABLE public.a (\n    id integer NOT NULL\n);'),
      entry('TABLE', 'B', 'CREATE TABLE public."B" (\n    id integer NOT NULL\n);'),
      entry('SEQUENCE', 'a_id_seq', 'CREATE SEQUENCE public.a_id_seq;\nALTER SEQUENCE public.a_id_seq OWNED BY public.a.id;'),
      entry('TABLE', 'c', 'CREATE TABLE public.c (\n    id integer NOT NULL\n);'),
      entry('VIEW', 'v', 'CREATE VIEW public.v AS\n SELECT "B".id FROM public."B";'),
    ];
    const r = planPreData(entries, units('a', 'B', 'c'), [], 100);
    expect(
      r.items.map((i) =>
        i.kind === 'unit'
          ? `unit ${i.unit.name}`
          : i.kind === 'await'
            ? `await ${i.tables.map((t) => t.name).join(',')}`
            : `batch ${i.batch.entries.map((e) => e.name).join(',')}`,
      ),
    ).toEqual(['unit a', 'unit B', 'await a', 'batch a_id_seq', 'unit c', 'await B', 'batch v']);
  });
  it('reads identifiers as PostgreSQL does: bare ones folded to lower case, quoted ones exact', () => {
    expect([...identifiersIn('SELECT "B".id, Foo FROM public."we""ird"')].sort()).toEqual([
      'B',
      'foo',
      'from',
      'id',
      'public',
      'select',
      'we"ird',
    ]);
  });
});

describe('psql meta-commands in pg_dump output', () => {
  it('are removed, including the \\encoding pg_dump writes for a non-ASCII database name', () => {
    const text = [
      '--\n-- Name: x; Type: DATABASE; Schema: -; Owner: postgres\n--\n',
      'CREATE DATABASE "hostile ""db"".\\ü" WITH TEMPLATE = template0;',
      '\\unrestrict abc',
      '\\encoding SQL_ASCII',
      '\\connect -reuse-previous=on "dbname=\'hostile ""db"".\\\\ü\'"',
      '\\restrict abc',
      '--\n-- Name: t; Type: TABLE; Schema: public; Owner: postgres\n--\n',
      'CREATE TABLE public.t (a int);',
    ].join('\n');
    const d = splitDump(text);
    expect(d.header.map((e) => e.sql)).toEqual(['CREATE DATABASE "hostile ""db"".\\ü" WITH TEMPLATE = template0;']);
    expect(d.body.map((e) => e.sql)).toEqual(['CREATE TABLE public.t (a int);']);
  });
});
