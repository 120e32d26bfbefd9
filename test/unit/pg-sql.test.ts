/** SQL text of the PostgreSQL dump method: roles, COPY, verify; and the work pool. */
import { describe, expect, it } from 'vitest';
import { createRoleStatements, membershipStatements, roleSettingStatements, settingClause } from '../../src/engines/postgres/roles-sql.js';
import { isBinaryFormatError, sourceCopySql, targetCopySql, type SourceTable } from '../../src/engines/postgres/copy.js';
import { batchVerifySql, verifySql } from '../../src/engines/postgres/verify.js';
import { WorkPool } from '../../src/util/pool.js';

const t: SourceTable = {
  schema: 'Odd "S"',
  name: 'user',
  bytes: 1,
  pages: 1,
  rows: 1,
  columns: ['id', 'select', 'a"b'],
  extensionCondition: null,
  format: 'binary',
  intKey: null,
};

describe('roles', () => {
  it('creates only missing roles, without attributes the target user may not grant', () => {
    const r = createRoleStatements(
      [
        {
          name: 'app',
          inherit: true,
          createrole: false,
          createdb: true,
          login: true,
          replication: true,
          bypassrls: false,
          connlimit: 5,
          validUntil: null,
        },
        {
          name: 'exists',
          inherit: true,
          createrole: false,
          createdb: false,
          login: false,
          replication: false,
          bypassrls: false,
          connlimit: -1,
          validUntil: null,
        },
      ],
      new Set(['exists']),
      { superuser: false, createrole: true, createdb: true, versionNum: 150000 },
    );
    expect(r.statements).toEqual(['CREATE ROLE "app" WITH INHERIT LOGIN NOCREATEROLE CREATEDB NOBYPASSRLS CONNECTION LIMIT 5']);
    expect(r.warnings).toEqual(['role app created without REPLICATION (needs superuser on the target)']);
  });

  it('writes settings as pg_dumpall does, memberships only between present roles', () => {
    expect(settingClause('search_path="$user", public')).toBe(`SET "search_path" TO '"$user"', 'public'`);
    expect(settingClause('work_mem=8MB')).toBe(`SET "work_mem" TO '8MB'`);
    expect(roleSettingStatements([{ role: 'a', config: ['statement_timeout=1s'] }], new Set(['a']))).toEqual([
      `ALTER ROLE "a" SET "statement_timeout" TO '1s'`,
    ]);
    expect(
      membershipStatements(
        [
          { role: 'r', member: 'a', admin: true },
          { role: 'x', member: 'a', admin: false },
        ],
        new Set(['r', 'a']),
      ),
    ).toEqual(['GRANT "r" TO "a" WITH ADMIN OPTION']);
  });
});

describe('COPY and verify SQL', () => {
  it('quotes every identifier', () => {
    expect(sourceCopySql(t, { blocks: null }, 'binary')).toBe('COPY "Odd ""S"""."user" ("id", "select", "a""b") TO STDOUT (FORMAT binary)');
    expect(sourceCopySql(t, { blocks: { from: 10, to: 20 } }, 'text')).toBe(
      `COPY (SELECT "id", "select", "a""b" FROM ONLY "Odd ""S"""."user" WHERE ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid) TO STDOUT`,
    );
    expect(targetCopySql(t, 'binary', true)).toBe('COPY "Odd ""S"""."user" ("id", "select", "a""b") FROM STDIN (FORMAT binary, FREEZE)');
    expect(sourceCopySql({ ...t, extensionCondition: 'WHERE NOT builtin' }, { blocks: null }, 'text')).toContain('WHERE (NOT builtin)');
  });
  it('verify hashes every row, order-independently', () => {
    expect(verifySql(t, false)).toBe(
      `SELECT count(*)::text AS n, '' AS h FROM (SELECT "id", "select", "a""b" FROM ONLY "Odd ""S"""."user") r`,
    );
    expect(verifySql(t, true)).toContain("sum(('x' || substr(md5(r::text), 1, 15))::bit(60)::bigint)");
    // The cheaper 64-bit hash when both servers agree on it (verifyTables probes them first).
    expect(verifySql(t, true, undefined, 'hashtext')).toContain('coalesce(sum(hashtextextended(r::text, 0)), 0)::text AS h');
    expect(batchVerifySql(['SELECT 1 AS n, 2 AS h', 'SELECT 3, 4'])).toBe(
      'SELECT 0 AS i, n, h FROM (SELECT 1 AS n, 2 AS h) q0\nUNION ALL\nSELECT 1 AS i, n, h FROM (SELECT 3, 4) q1',
    );
  });
  it('recognises binary format errors', () => {
    expect(isBinaryFormatError(new Error('insufficient data left in message'))).toBe(true);
    expect(isBinaryFormatError(new Error('no binary input function available for type foo'))).toBe(true);
    expect(isBinaryFormatError(new Error('duplicate key value'))).toBe(false);
  });
});

describe('work pool', () => {
  it('runs jobs on N resources, urgent first, including jobs added while running', async () => {
    const order: string[] = [];
    let created = 0;
    const pool = new WorkPool<number>({ workers: 2, create: async () => ++created, release: async () => undefined });
    pool.add({
      label: 'a',
      run: async () => {
        order.push('a');
        pool.add({ label: 'c', run: async () => void order.push('c') }, true);
      },
    });
    pool.add({ label: 'b', run: async () => void order.push('b') });
    pool.close();
    await pool.run();
    expect(order.sort()).toEqual(['a', 'b', 'c']);
    expect(created).toBeLessThanOrEqual(2);
  });
  it('eager: every worker creates its resource before any job arrives; a failed creation fails the pool', async () => {
    let created = 0;
    const pool = new WorkPool<number>({ workers: 3, eager: true, create: async () => ++created, release: async () => undefined });
    const running = pool.run();
    await new Promise((r) => setTimeout(r, 10));
    expect(created).toBe(3);
    pool.add({ label: 'a', run: async () => undefined });
    pool.close();
    await running;
    const failing = new WorkPool<number>({
      workers: 2,
      eager: true,
      create: async () => Promise.reject(new Error('no connection')),
      release: async () => undefined,
    });
    failing.add({ label: 'never', run: async () => undefined });
    await expect(failing.run()).rejects.toThrow('no connection');
  });
  it('stops at the first failure and rethrows it', async () => {
    const released: boolean[] = [];
    const pool = new WorkPool<number>({ workers: 1, create: async () => 1, release: async (_r, failed) => void released.push(failed) });
    let ran = 0;
    pool.add({
      label: 'x',
      run: async () => {
        throw new Error('boom');
      },
    });
    pool.add({ label: 'y', run: async () => void ran++ });
    pool.close();
    await expect(pool.run()).rejects.toThrow('boom');
    expect(ran).toBe(0);
    expect(released).toEqual([true]);
  });
});
