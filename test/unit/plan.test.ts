/** Plans are built from config (+ facts) deterministically and render as text and stable JSON. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderPlanJson, renderPlanText } from '../../src/plan/render.js';
import type { Discovery } from '../../src/engines/engine.js';
import { ROOT } from '../setup/cli.js';

const env = { SOURCE_PASSWORD: 'marker-pw-src', TARGET_PASSWORD: 'marker-pw-tgt' };
const load = (f: string) => loadConfigFile(join(ROOT, 'examples', f), { env, pgpassText: '' });

const discovery: Discovery = {
  source: { role: 'source', display: 'app@old-db.internal:5432', product: 'PostgreSQL', version: '13.4', major: 13, versionNum: 130004 },
  target: { role: 'target', display: 'admin@new-db.internal:5432', product: 'PostgreSQL', version: '17.2', major: 17, versionNum: 170002 },
  databases: [
    {
      source: {
        name: 'billing',
        sizeBytes: 10 * 1024 ** 2,
        tables: 3,
        schemas: 1,
        rowEstimate: 1200,
        encoding: 'UTF8',
        collation: 'C.UTF-8',
      },
      target: { name: 'billing', exists: true, sizeBytes: 8000000, userObjects: 4 },
    },
    {
      source: {
        name: 'orders',
        sizeBytes: 3 * 1024 ** 3,
        tables: 40,
        schemas: 2,
        rowEstimate: 4_100_000,
        encoding: 'UTF8',
        collation: 'C.UTF-8',
      },
      target: { name: 'orders', exists: false, sizeBytes: null, userObjects: null },
    },
  ],
  missing: [],
  excluded: [],
  roles: ['app_ro', 'app_rw'],
  sourceSchemaFingerprint: 'sha256:abc',
  resumable: {},
};

describe('plan', () => {
  it('offline plan: steps per database, method from mode', () => {
    const plan = buildPlan({ loaded: load('pg-offline.yaml'), discovery: null, checks: null });
    expect(plan.kind).toBe('offline');
    expect(plan.databases.map((d) => [d.name, d.method])).toEqual([
      ['billing', 'dump'],
      ['orders', 'dump'],
    ]);
    expect(plan.databases.find((d) => d.name === 'orders')?.tablesSkipped).toEqual(['orders.public.audit_log']);
    expect(plan.steps.map((s) => s.id)).toContain('orders:copy-data');
    expect(plan.steps[0]?.kind).toBe('validate');
    expect(plan.fingerprint.config).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.fingerprint.sourceSchema).toBeNull();
  });

  it('online auto is undecided until the check', () => {
    const plan = buildPlan({ loaded: load('pg-online.yaml'), discovery: null, checks: null });
    expect(plan.databaseSelection.allNonSystem).toBe(true);
    const text = renderPlanText(plan);
    expect(text).toContain('auto (decided at check)');
    expect(text).toContain('every non-system database on the source except scratch');
    expect(plan.steps.some((s) => s.kind === 'slot-snapshot')).toBe(true);
  });

  it('with discovered facts: sizes, target actions, blocked databases', () => {
    const plan = buildPlan({ loaded: load('pg-offline.yaml'), discovery, checks: null });
    expect(plan.databases.find((d) => d.name === 'billing')?.action).toBe('refuse-non-empty');
    expect(plan.databases.find((d) => d.name === 'orders')?.action).toBe('create');
    expect(plan.summary.blocked).toBe(1);
    expect(plan.steps.some((s) => s.database === 'billing')).toBe(false);
    const text = renderPlanText(plan);
    expect(text).toContain('PostgreSQL 13.4');
    expect(text).toContain('3.0 GB, 40 tables in 2 schemas, ~4.1M rows');
    expect(text).toContain('apply will refuse it');
    expect(text).toContain('create 2 roles with attributes, memberships and settings (app_ro, app_rw)');
    expect(text).toMatch(/Plan: 2 databases \(3\.0 GB\) to migrate; 1 by dump; 1 blocked\./);
  });

  it('is deterministic and never contains a password', () => {
    const a = renderPlanJson(buildPlan({ loaded: load('pg-offline.yaml'), discovery, checks: null }));
    const b = renderPlanJson(buildPlan({ loaded: load('pg-offline.yaml'), discovery, checks: null }));
    expect(a).toBe(b);
    expect(a).not.toContain('marker-pw');
    expect(JSON.parse(a)).toMatchObject({ format: 'dbferry-plan', formatVersion: 1 });
  });

  it('config fingerprint changes with the config, not with the password', () => {
    const text = 'name: x\nsource:\n  host: a\n  password: ${P}\ntarget:\n  host: b\n';
    const fp = (t: string, p: string) =>
      buildPlan({ loaded: loadConfigText('m.yaml', t, { env: { P: p }, pgpassText: '' }), discovery: null, checks: null }).fingerprint
        .config;
    expect(fp(text, 'one')).toBe(fp(text, 'two'));
    expect(fp(text, 'one')).not.toBe(fp(text.replace('host: b', 'host: c'), 'one'));
  });

  it('mysql plan has mysql steps', () => {
    const plan = buildPlan({ loaded: load('mysql.yaml'), discovery: null, checks: null });
    expect(plan.steps.map((s) => s.kind)).toEqual(expect.arrayContaining(['schema-objects', 'replica', 'cutover']));
    expect(plan.steps.some((s) => s.kind === 'roles')).toBe(false);
  });
});

describe('verify policy', () => {
  it('auto checksums every table in full, and big tables with an integer key on key ranges', async () => {
    const { tableVerify, sampleRanges, rangesCondition } = await import('../../src/engines/verify-policy.js');
    expect(tableVerify('auto', { bytes: 10, intKey: 'id' }, 100)).toBe('full');
    expect(tableVerify('auto', { bytes: 1000, intKey: 'id' }, 100)).toBe('sample');
    expect(tableVerify('auto', { bytes: 1000, intKey: null }, 100)).toBe('full');
    expect(tableVerify('checksums', { bytes: 1000, intKey: 'id' }, 100)).toBe('full');
    expect(tableVerify('counts', { bytes: 1000, intKey: 'id' }, 100)).toBe('counts');
    expect(tableVerify('none', { bytes: 1, intKey: null }, 100)).toBe('none');
    const r = sampleRanges(1n, 1000n, 0.1, 4);
    expect(r).toEqual([
      { from: 1n, to: 26n },
      { from: 251n, to: 276n },
      { from: 501n, to: 526n },
      { from: 751n, to: 776n },
    ]);
    // The whole span when the fraction is 1; 64-bit keys stay exact.
    expect(sampleRanges(1n, 8n, 1, 4)).toEqual([
      { from: 1n, to: 3n },
      { from: 3n, to: 5n },
      { from: 5n, to: 7n },
      { from: 7n, to: 9n },
    ]);
    const big = sampleRanges(-9223372036854775808n, 9223372036854775807n, 0.5, 2);
    expect(big[0]?.from).toBe(-9223372036854775808n);
    expect(big[1]?.from).toBe(0n);
    expect(sampleRanges(5n, 5n, 0.01, 32)).toEqual([{ from: 5n, to: 6n }]);
    expect(rangesCondition('"id"', [{ from: 1n, to: 3n }])).toBe('("id" >= 1 AND "id" < 3)');
    expect(rangesCondition('"id"', [])).toBe('false');
  });
});
