import { describe, expect, it } from 'vitest';
import { classifyPostData, filterStatements, parseEntries, rolesIn, splitDump, splitQName, statements } from '../../src/engines/postgres/dump-script.js';

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
    const r = filterStatements(splitDump(PRE).body, new Set(['app', 'reader']), ['hstore']);
    expect(r.sql).toContain('CREATE SCHEMA sales;');
    expect(r.sql).toContain('ALTER SCHEMA sales OWNER TO app;');
    expect(r.sql).not.toContain('OWNER TO legacy');
    expect(r.sql).not.toContain('"Odd Role"');
    expect(r.sql).not.toContain('hstore');
    expect(r.sql).toContain('REVOKE ALL ON TABLE public.t FROM PUBLIC;');
    expect(r.skipped).toHaveLength(3);
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
