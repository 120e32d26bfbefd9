/**
 * Bad input, fuzzed: random mutations of valid configs, Azure properties and Aiven settings.
 * Whatever the input, the loader either accepts it or raises one DbferryError whose every
 * diagnostic has a position and a message; never any other exception (so never a stack trace).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importAiven, importAzure } from '../../src/config/import.js';
import { loadConfigText } from '../../src/config/load.js';
import { DbferryError } from '../../src/util/errors.js';
import { ROOT, runCli, tempDir, writeFile } from '../setup/cli.js';

const examples = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
  .filter((f) => f.isFile())
  .map((f) => ({ name: f.name, text: readFileSync(join(ROOT, 'examples', f.name), 'utf8') }));
const yamls = examples.filter((e) => e.name.endsWith('.yaml')).map((e) => e.text);
const azure = examples.find((e) => e.name === 'azure-properties.json')?.text ?? '{}';
const aiven = examples.find((e) => e.name === 'aiven-settings.sh')?.text ?? '';
const env = { SOURCE_PASSWORD: 'fuzz-src', TARGET_PASSWORD: 'fuzz-tgt', TARGET_HOST: 'fuzz.example' };

const nasty = fc.oneof(
  fc.constantFrom(
    ':',
    ': ',
    '- ',
    '[',
    ']',
    '{',
    '}',
    '"',
    "'",
    '\t',
    '${',
    '${X',
    '${UNSET_VAR_Q}',
    '\n',
    '#',
    '&a',
    '*a',
    '!!binary ',
    '\u0000',
    'é',
    '\\',
    '  ',
    '---\n',
    '...',
    '?',
    '|',
    '>',
    '%',
    '@',
    '`',
    'null',
    '~',
    '0x1F',
    '1e999',
    '-1',
    'true',
    '\r\n',
    '\u2028',
  ),
  fc.string({ maxLength: 12 }),
);

type Op =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete-line'; at: number }
  | { kind: 'dup-line'; at: number }
  | { kind: 'replace'; at: number; len: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'tab'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: nasty }),
  fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('dup-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }), text: nasty }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('tab' as const), at: fc.nat() }),
);

function mutate(text: string, ops: Op[]): string {
  let t = text;
  for (const o of ops) {
    const lines = t.split('\n');
    const pos = t.length ? o.at % (t.length + 1) : 0;
    const li = lines.length ? o.at % lines.length : 0;
    switch (o.kind) {
      case 'insert':
        t = t.slice(0, pos) + o.text + t.slice(pos);
        break;
      case 'delete-line':
        lines.splice(li, 1);
        t = lines.join('\n');
        break;
      case 'dup-line':
        lines.splice(li, 0, lines[li] ?? '');
        t = lines.join('\n');
        break;
      case 'replace':
        t = t.slice(0, pos) + o.text + t.slice(pos + o.len);
        break;
      case 'truncate':
        t = t.slice(0, pos);
        break;
      case 'tab':
        lines[li] = (lines[li] ?? '').replace(/^ {2}/, '\t');
        t = lines.join('\n');
        break;
    }
  }
  return t;
}

function expectCleanOutcome(fn: () => unknown): 'ok' | 'rejected' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    expect(e, String((e as Error)?.stack)).toBeInstanceOf(DbferryError);
    const err = e as DbferryError;
    expect(['CONFIG_INVALID']).toContain(err.code);
    expect(err.diagnostics.length).toBeGreaterThan(0);
    for (const d of err.diagnostics) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.col).toBeGreaterThanOrEqual(1);
      expect(d.message.trim().length).toBeGreaterThan(0);
    }
    return 'rejected';
  }
}

describe('fuzzed bad input never escapes as a stack trace', () => {
  const seed = 20261123;
  /** `npm run test:stress` runs ten times as many cases. */
  const times = process.env.DBFERRY_STRESS ? 10 : 1;
  let total = 0;

  it('mutated migration.yaml files: 400 cases', () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...yamls), fc.array(op, { minLength: 1, maxLength: 4 }), (base, ops) => {
        if (expectCleanOutcome(() => loadConfigText('fuzz.yaml', mutate(base, ops), { env, pgpassText: '' })) === 'rejected') rejected++;
        total++;
      }),
      { numRuns: 400 * times, seed },
    );
    expect(rejected).toBeGreaterThan(100);
  });

  it('mutated Azure properties JSON: 150 cases', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 3 }), (ops) => {
        expectCleanOutcome(() => importAzure('azure.json', mutate(azure, ops), { targetHost: 'fuzz.example' }));
        total++;
      }),
      { numRuns: 150 * times, seed },
    );
  });

  it('mutated Aiven avn commands: 150 cases', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 3 }), (ops) => {
        expectCleanOutcome(() => importAiven('aiven.sh', mutate(aiven, ops), {}));
        total++;
      }),
      { numRuns: 150 * times, seed },
    );
    expect(total).toBeGreaterThanOrEqual(700);
  });

  it('through the CLI: rejected files exit 2 with file:line:col and no stack trace (40 cases)', async () => {
    const dir = tempDir();
    const cases = fc.sample(fc.tuple(fc.constantFrom(...yamls), fc.array(op, { minLength: 2, maxLength: 4 })), {
      numRuns: 40 * times,
      seed,
    });
    for (const [i, [base, ops]] of cases.entries()) {
      const file = writeFile(dir, `f${i}.yaml`, mutate(base, ops));
      const r = await runCli(['validate', file], { env });
      expect([0, 2]).toContain(r.code);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
      expect(r.stderr).not.toContain('unexpected error');
      if (r.code === 2) expect(r.stderr).toMatch(new RegExp(`f${i}\\.yaml(:\\d+:\\d+: |: no such file)`));
    }
  });
});
