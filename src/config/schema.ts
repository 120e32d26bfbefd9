/**
 * JSON Schema validation of the raw YAML object with ajv (standalone code compiled at build time), with ajv's
 * errors turned into positioned, human diagnostics: unknown keys suggest the nearest valid key,
 * enums suggest the nearest value, patterns say what was expected.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import * as validators from './validators.generated.js';
import type { ConfigForm } from './types.js';
import type { Diagnostic } from '../util/errors.js';
import { nearest } from '../util/suggest.js';
import { locate, type YamlPath, type YamlSource } from './yaml-source.js';

export const SCHEMA_PATH = new URL('../../schemas/migration.schema.json', import.meta.url);

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
  description?: string;
  default?: unknown;
  required?: string[];
  pattern?: string;
  'x-expected'?: string;
  $defs?: Record<string, JsonSchema>;
  $id?: string;
  [k: string]: unknown;
}

let schemaCache: JsonSchema | undefined;

export function loadSchema(): JsonSchema {
  schemaCache ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as JsonSchema;
  return schemaCache;
}

/**
 * The validator of one form: ajv standalone code generated with the schema (`npm run gen:schema`,
 * options in scripts/schema-src.mjs), so no schema is compiled at start-up; a unit test keeps it
 * equal to the schema.
 */
function validatorFor(form: ConfigForm): ValidateFunction {
  return validators[form] as unknown as ValidateFunction;
}

/** Keys of an object schema at a $defs path, for case-insensitive matching (Azure). */
export function schemaKeys(form: ConfigForm, path: readonly string[]): string[] {
  let node: JsonSchema | undefined = loadSchema().$defs?.[form];
  for (const seg of path) node = node?.properties?.[seg];
  return Object.keys(node?.properties ?? {});
}

/** Validates (and coerces numeric/boolean strings in place). */
export function validateAgainstSchema(form: ConfigForm, raw: unknown, src: YamlSource): Diagnostic[] {
  const validate = validatorFor(form);
  if (validate(raw)) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const err of validate.errors ?? []) {
    const d = toDiagnostic(err, src);
    if (!d) continue;
    const k = `${d.line}:${d.col}:${d.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(d);
  }
  return out;
}

function pathFromPointer(p: string): string[] {
  if (p === '') return [];
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function yamlPath(segments: string[]): YamlPath {
  return segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function label(segments: string[]): string {
  return segments.length === 0 ? 'the top level' : segments.join('.');
}

function show(value: unknown, key: string): string {
  if (/password|secret/i.test(key)) return '(hidden)';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (value === null) return 'null (empty)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function typeName(t: unknown): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    null: 'null',
  };
  if (Array.isArray(t)) return t.map(typeName).join(' or ');
  return names[String(t)] ?? String(t);
}

function toDiagnostic(err: ErrorObject, src: YamlSource): Diagnostic | undefined {
  const segs = pathFromPointer(err.instancePath);
  const key = segs[segs.length - 1] ?? '';
  const parent = err.parentSchema as JsonSchema | undefined;
  const at = (path: string[], what: 'key' | 'value' = 'value') => locate(src, yamlPath(path), what);
  const mk = (pos: { line: number; col: number }, message: string): Diagnostic => ({
    file: src.file,
    line: pos.line,
    col: pos.col,
    severity: 'error',
    message,
  });
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = String((err.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(parent?.properties ?? {});
      const guess = nearest(extra, allowed);
      const where = segs.length === 0 ? 'at the top level' : `in ${label(segs)}`;
      const suffix = guess ? `; did you mean "${guess}"?` : `; valid keys: ${allowed.join(', ')}`;
      return mk(at([...segs, extra], 'key'), `unknown key "${extra}" ${where}${suffix}`);
    }
    case 'required': {
      const missing = String((err.params as { missingProperty: string }).missingProperty);
      const desc = parent?.properties?.[missing]?.description;
      return mk(
        at(segs, segs.length ? 'key' : 'value'),
        `missing required key "${missing}" in ${label(segs)}${desc ? ` (${firstSentence(desc)})` : ''}`,
      );
    }
    case 'type': {
      const expected = typeName((err.params as { type: unknown }).type);
      return mk(at(segs), `${label(segs)} must be ${expected}, got ${show(err.data, key)}`);
    }
    case 'enum': {
      const allowed = ((err.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const guess = typeof err.data === 'string' ? nearest(err.data, allowed) : undefined;
      return mk(
        at(segs),
        `${label(segs)} must be one of ${allowed.join(' | ')}, got ${show(err.data, key)}${guess ? `; did you mean "${guess}"?` : ''}`,
      );
    }
    case 'pattern': {
      const expected = parent?.['x-expected'] ?? `text matching ${String((err.params as { pattern: string }).pattern)}`;
      return mk(at(segs), `${label(segs)} must be ${expected}, got ${show(err.data, key)}`);
    }
    case 'const':
      return mk(
        at(segs),
        `${label(segs)} must be ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}, got ${show(err.data, key)}`,
      );
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minLength':
    case 'maxLength':
    case 'minItems':
    case 'maxItems':
      return mk(at(segs), `${label(segs)} ${err.message ?? 'is out of range'}, got ${show(err.data, key)}`);
    case 'uniqueItems': {
      const p = err.params as { i: number; j: number };
      return mk(
        at([...segs, String(p.i)]),
        `${label(segs)} lists the same value twice (items ${Math.min(p.i, p.j) + 1} and ${Math.max(p.i, p.j) + 1})`,
      );
    }
    case 'if':
      return undefined;
    default:
      return mk(at(segs), `${label(segs)} ${err.message ?? 'is invalid'}`);
  }
}

function firstSentence(s: string): string {
  const i = s.indexOf('. ');
  return (i > 0 ? s.slice(0, i) : s).replace(/\.$/, '');
}
