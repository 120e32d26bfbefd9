/**
 * The COPY relay on real servers: several COPYs in one round trip arrive whole (messages split
 * across socket reads included), each with its own counts; a target failure in the middle keeps
 * the units committed before it and drops the source; a source failure fails the target's COPY
 * (CopyFail) and leaves both connections usable; the rate limit paces the stream.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { relayCopies, RelayError } from '../../src/engines/postgres/copy-relay.js';
import type { SourceTable } from '../../src/engines/postgres/copy.js';
import { copyUnitBatch } from '../../src/engines/postgres/steps/copy-table.js';
import { RateLimiter } from '../../src/util/rate-limit.js';
import { pgQuery } from '../setup/cli.js';

const servers = inject('servers');
const src = servers.pg['15']!;
const tgt = servers.pg['17']!;
const DB = 'relay_db';

const connect = async (s: typeof src): Promise<pg.Client> => {
  const c = new pg.Client({ host: s.host, port: s.port, user: s.user, database: DB });
  c.on('error', () => undefined);
  await c.connect();
  return c;
};

/** md5 of every row of a table, in key order. */
const digest = async (s: typeof src, table: string): Promise<string> =>
  String((await pgQuery<{ h: string }>(s, `SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS h FROM ${table} t`, DB))[0]?.h);

let a: pg.Client;
let b: pg.Client;

beforeAll(async () => {
  for (const s of [src, tgt]) {
    await pgQuery(s, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await pgQuery(s, `CREATE DATABASE ${DB}`);
  }
  // Rows of very different sizes: CopyData messages of a few bytes to 300 kB, across many socket reads.
  await pgQuery(
    src,
    `CREATE TABLE r1 (id int PRIMARY KEY, v text);
     INSERT INTO r1 SELECT g, repeat(md5(g::text), (g % 7) * (g % 13)) FROM generate_series(1, 20000) g;
     INSERT INTO r1 VALUES (20001, repeat('x', 300000)), (20002, ''), (20003, NULL);
     CREATE TABLE r2 (id int PRIMARY KEY, n numeric, at timestamptz);
     INSERT INTO r2 SELECT g, g / 7.0, '2020-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 5000) g;
     CREATE TABLE r3 (id int PRIMARY KEY);`,
    DB,
  );
  [a, b] = await Promise.all([connect(src), connect(tgt)]);
});

afterAll(async () => {
  await Promise.all([a?.end().catch(() => undefined), b?.end().catch(() => undefined)]);
  for (const s of [src, tgt]) await pgQuery(s, `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
});

const unit = (table: string, cols: string, extra = ''): string =>
  `BEGIN; CREATE TABLE ${table} (${cols}); COPY ${table} FROM STDIN (FORMAT binary); ${extra} COMMIT;`;

describe('COPY relay', () => {
  it('relays three COPYs in one round trip each way; rows, counts and bytes per COPY', async () => {
    const onBytes: number[] = [];
    const r = await relayCopies(
      a,
      b,
      'COPY r1 TO STDOUT (FORMAT binary); COPY r2 TO STDOUT (FORMAT binary); COPY r3 TO STDOUT (FORMAT binary)',
      [
        unit('r1', 'id int PRIMARY KEY, v text'),
        unit('r2', 'id int PRIMARY KEY, n numeric, at timestamptz'),
        unit('r3', 'id int PRIMARY KEY'),
      ].join('\n'),
      3,
      { onBytes: (n) => onBytes.push(n) },
    );
    expect(r.committed).toBe(3);
    expect(r.copies.map((c) => [c.rowsSent, c.rowsLoaded])).toEqual([
      [20003, 20003],
      [5000, 5000],
      [0, 0],
    ]);
    expect(r.copies[0]!.bytes).toBeGreaterThan(300000);
    expect(onBytes.reduce((x, y) => x + y, 0)).toBe(r.copies.reduce((x, c) => x + c.bytes, 0));
    expect(onBytes.length).toBeGreaterThan(3);
    for (const t of ['r1', 'r2']) expect(await digest(tgt, t)).toBe(await digest(src, t));
    // Both connections are idle and usable.
    expect((await a.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    expect((await b.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    await b.query('DROP TABLE r1, r2, r3');
  });

  it('a target failure in the second unit: the first stays committed, the source is dropped', async () => {
    const e = await relayCopies(
      a,
      b,
      'COPY r2 TO STDOUT (FORMAT binary); COPY r1 TO STDOUT (FORMAT binary)',
      // r1's rows do not fit the second table's column type: its COPY fails.
      [unit('r2', 'id int PRIMARY KEY, n numeric, at timestamptz'), unit('r1x', 'id int PRIMARY KEY, v int')].join('\n'),
      2,
      { onBytes: () => undefined },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RelayError);
    const err = e as RelayError;
    expect(err.outcome.committed).toBe(1);
    expect(err.outcome.copies[0]).toMatchObject({ rowsSent: 5000, rowsLoaded: 5000 });
    expect(String((err.cause as Error).message)).toMatch(/binary|data|format/i);
    expect(err.sourceDropped).toBe(true);
    await b.query('ROLLBACK');
    expect(await digest(tgt, 'r2')).toBe(await digest(src, 'r2'));
    expect((await pgQuery(tgt, `SELECT to_regclass('r1x') AS t`, DB))[0]?.t).toBeNull();
    await b.query('DROP TABLE r2');
    a = await connect(src);
  });

  it('a source failure fails the target COPY with CopyFail; both connections stay usable', async () => {
    const e = await relayCopies(
      a,
      b,
      'COPY r3 TO STDOUT (FORMAT binary); COPY no_such_table TO STDOUT (FORMAT binary)',
      [unit('r3', 'id int PRIMARY KEY'), unit('r4', 'id int PRIMARY KEY')].join('\n'),
      2,
      { onBytes: () => undefined },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RelayError);
    const err = e as RelayError;
    expect(String((err.cause as Error).message)).toMatch(/no_such_table/);
    expect(err.sourceDropped).toBe(false);
    expect(err.outcome.committed).toBe(1);
    await b.query('ROLLBACK');
    expect((await pgQuery(tgt, `SELECT to_regclass('r4') AS t`, DB))[0]?.t).toBeNull();
    expect((await a.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    expect((await b.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    await b.query('DROP TABLE r3');
  });

  it('copy.maxRate paces the relay', async () => {
    const limiter = new RateLimiter(6 * 1024 * 1024);
    const t0 = Date.now();
    const r = await relayCopies(a, b, 'COPY r1 TO STDOUT (FORMAT binary)', unit('r1', 'id int PRIMARY KEY, v text'), 1, {
      onBytes: () => undefined,
      limiter,
    });
    const seconds = (Date.now() - t0) / 1000;
    const bytes = r.copies[0]!.bytes;
    // One second's worth passes at once (the bucket starts full); the rest at the rate.
    expect(seconds).toBeGreaterThan((bytes - 6 * 1024 * 1024) / (6 * 1024 * 1024) - 0.3);
    expect(await digest(tgt, 'r1')).toBe(await digest(src, 'r1'));
    await b.query('DROP TABLE r1');
  });
});

describe('a batch of table units', () => {
  const table = (name: string, columns: string[]): SourceTable => ({
    schema: 'public',
    name,
    bytes: 0,
    pages: 0,
    rows: 0,
    columns,
    extensionCondition: null,
    format: 'binary',
    intKey: null,
  });

  it('a unit that fails in the batch is copied again alone (here in text), and the units after it too', async () => {
    await pgQuery(
      src,
      `CREATE TABLE digits (id int PRIMARY KEY, v text); INSERT INTO digits SELECT g, g::text FROM generate_series(1, 300) g`,
      DB,
    );
    const units = [
      {
        table: table('r2', ['id', 'n', 'at']),
        unit: {
          create: 'CREATE TABLE public.r2 (id int, n numeric, at timestamptz);',
          indexes: 'ALTER TABLE public.r2 ADD PRIMARY KEY (id);',
        },
      },
      // text on the source, int on the target: binary COPY refuses it, text COPY reads the digits.
      { table: table('digits', ['id', 'v']), unit: { create: 'CREATE TABLE public.digits (id int, v int);', indexes: '' } },
      { table: table('r3', ['id']), unit: { create: 'CREATE TABLE public.r3 (id int);', indexes: '' } },
    ];
    let reopened = 0;
    const w = { src: a, tgt: b };
    const results = await copyUnitBatch(w, units, {
      onBytes: () => undefined,
      reopenSource: async () => {
        reopened++;
        return connect(src);
      },
    });
    a = w.src;
    expect(reopened).toBeGreaterThanOrEqual(2);
    expect(results.map((r) => [r.rowsSent, r.rowsLoaded])).toEqual([
      [5000, 5000],
      [300, 300],
      [0, 0],
    ]);
    expect(await digest(tgt, 'r2')).toBe(await digest(src, 'r2'));
    const sums = await pgQuery<{ s: string }>(tgt, 'SELECT sum(v)::text AS s FROM digits', DB);
    expect(sums[0]?.s).toBe(String((300 * 301) / 2));
    const analyzed = await pgQuery<{ n: string }>(tgt, `SELECT count(*)::text AS n FROM pg_stats WHERE tablename IN ('r2', 'digits')`, DB);
    expect(Number(analyzed[0]?.n)).toBeGreaterThan(0);
  });
});
