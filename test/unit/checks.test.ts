/** Method decision and check rendering: pure logic. */
import { describe, expect, it } from 'vitest';
import { decideMethods, fail, ok, warn } from '../../src/engines/checks.js';
import { checkDocument, preferredMethodSentence, renderCheckText } from '../../src/run/check-view.js';
import { validationRecords } from '../../src/run/validation.js';

const raw = [
  ok('pg.source.connectivity', 'connected'),
  fail('pg.wal_level', 'wal_level is replica, logical replication needs logical', "ALTER SYSTEM SET wal_level = 'logical';", {
    replication: true,
  }),
  warn('pg.db.large_objects', '1 large object', 'fix it', { level: 'database', database: 'a' }),
  fail('pg.db.dbferry_subscription', 'subscription exists', 'cancel', { level: 'database', database: 'b', replication: true }),
];

describe('decideMethods', () => {
  it('offline: replication checks are dropped, every database uses dump', () => {
    const o = decideMethods(raw, ['a', 'b'], 'offline', 'auto');
    expect(o.checks.map((c) => c.id)).toEqual(['pg.source.connectivity', 'pg.db.large_objects']);
    expect(o.decisions.a).toEqual({ method: 'dump', reason: 'mode offline: a one-time consistent copy' });
  });

  it('online auto: failed replication prerequisites become warnings and fall back per database', () => {
    const o = decideMethods(
      raw.filter((c) => c.id !== 'pg.wal_level'),
      ['a', 'b'],
      'online',
      'auto',
    );
    expect(o.decisions.a?.method).toBe('replication');
    expect(o.decisions.b).toEqual({ method: 'dump', fellBack: true, reason: 'method auto fell back to dump: subscription exists' });
    expect(o.checks.find((c) => c.id === 'pg.db.dbferry_subscription')?.result).toBe('Warning');
    const all = decideMethods(raw, ['a', 'b'], 'online', 'auto');
    expect(Object.values(all.decisions).map((d) => d.method)).toEqual(['dump', 'dump']);
    expect(preferredMethodSentence(all)).toBe('All pre-checks passed successfully, preferred migration method will be [Dump]');
  });

  it('online replication: failures stay failures', () => {
    const o = decideMethods(raw, ['a'], 'online', 'replication');
    expect(o.checks.filter((c) => c.result === 'Failed')).toHaveLength(2);
    expect(preferredMethodSentence(o)).toBe('2 pre-checks failed; fix them and run `dbferry check` again');
  });

  it('mixed methods are named per database', () => {
    const o = decideMethods(
      raw.filter((c) => c.id !== 'pg.wal_level'),
      ['a', 'b'],
      'online',
      'auto',
    );
    expect(preferredMethodSentence(o)).toBe(
      'All pre-checks passed successfully, preferred migration method will be [Replication] for a and [Dump] for b',
    );
  });
});

describe('check rendering', () => {
  const o = decideMethods(raw, ['a', 'b'], 'online', 'replication');
  it('text groups instance then databases, with fixes', () => {
    const t = renderCheckText('m1', o);
    expect(t.indexOf('Instance level')).toBeLessThan(t.indexOf('Database "a"'));
    expect(t).toContain("fix: ALTER SYSTEM SET wal_level = 'logical';");
    expect(t).toMatch(/1 succeeded, 1 warning, 2 failed\./);
  });
  it('JSON has the Aiven error shape on failure', () => {
    const d = checkDocument('m1', 'postgresql', o);
    expect(d.result).toBe('Failed');
    expect(d.migration).toEqual({
      error: '2 pre-checks failed; fix them and run `dbferry check` again',
      method: '',
      seconds_behind_master: null,
      source_active: true,
      status: 'done',
    });
    expect(d.migration_detail).toEqual([]);
    expect(JSON.stringify(d.checks)).not.toContain('"replication"');
  });
  it('validation records have one row per check and database', () => {
    const recs = validationRecords('m1', o);
    expect(recs.map((r) => `${r.checkId}/${r.dbname}/${r.result}`)).toEqual([
      'pg.source.connectivity//Succeeded',
      'pg.wal_level//Failed',
      'pg.db.large_objects/a/Warning',
      'pg.db.dbferry_subscription/b/Failed',
    ]);
  });
});
