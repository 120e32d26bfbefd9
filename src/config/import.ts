/**
 * `dbferry import azure|aiven`: turn what users have (an Azure migration properties JSON, Aiven
 * `migration.*` settings or the `avn service update -c migration.x=y` command) into a canonical
 * migration.yaml. Passwords become ${...} references and are never copied. Pure.
 */
import { Document, isMap, isScalar, YAMLMap } from 'yaml';
import { DbferryError, type Diagnostic } from '../util/errors.js';
import { registerSecret } from '../util/redact.js';
import { normalizeAiven, normalizeAzure, type RawCanonical } from './forms.js';
import { sanitizeName } from './identifiers.js';
import { schemaKeys, validateAgainstSchema } from './schema.js';
import { parseYaml, renameKeys, type YamlSource } from './yaml-source.js';

export interface ImportOptions {
  name?: string;
  targetHost?: string;
  targetPort?: number;
  targetUser?: string;
  engine?: 'postgresql' | 'mysql';
}

export interface ImportResult {
  yaml: string;
  notes: string[];
}

const SCHEMA_MODELINE = '# yaml-language-server: $schema=https://dbferry.dev/schemas/migration.schema.json';

function fail(file: string, diagnostics: Diagnostic[]): never {
  throw new DbferryError(
    'CONFIG_INVALID',
    `${file}: cannot be imported (${diagnostics.filter((d) => d.severity === 'error').length} error(s))`,
    {
      diagnostics,
      hint: 'Fix the input and run `dbferry import` again.',
    },
  );
}

function parseInput(file: string, text: string): YamlSource {
  if (text.trim() === '') fail(file, [{ file, line: 1, col: 1, severity: 'error', message: 'the file is empty' }]);
  const parsed = parseYaml(file, text);
  if (parsed.diagnostics.some((d) => d.severity === 'error')) fail(file, parsed.diagnostics);
  if (!isMap(parsed.source.doc.contents))
    fail(file, [{ file, line: 1, col: 1, severity: 'error', message: 'expected a JSON/YAML object' }]);
  return parsed.source;
}

/** Wraps a bare object under `key` when the input is the inner object itself. */
function wrapped(src: YamlSource, key: string, innerMarker: (keys: string[]) => boolean): Record<string, unknown> {
  const root = src.doc.contents as YAMLMap;
  const keys = root.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ''));
  if (!keys.some((k) => k.toLowerCase() === key) && innerMarker(keys)) {
    const outer = new YAMLMap();
    outer.set(src.doc.createNode(key), root);
    src.doc.contents = outer as never;
  }
  return src.doc.toJS() as Record<string, unknown>;
}

export function importAzure(file: string, text: string, opts: ImportOptions = {}): ImportResult {
  const src = parseInput(file, text);
  wrapped(src, 'properties', (keys) => keys.some((k) => /^sourcedbserverresourceid$/i.test(k)));
  const diags: Diagnostic[] = [];
  diags.push(...renameKeys(src, [], ['properties', 'name']));
  diags.push(...renameKeys(src, ['properties'], schemaKeys('azure', ['properties'])));
  diags.push(...renameKeys(src, ['properties', 'secretParameters'], schemaKeys('azure', ['properties', 'secretParameters'])));
  diags.push(
    ...renameKeys(
      src,
      ['properties', 'secretParameters', 'adminCredentials'],
      schemaKeys('azure', ['properties', 'secretParameters', 'adminCredentials']),
    ),
  );
  diags.push(...renameKeys(src, ['properties', 'adminCredentials'], schemaKeys('azure', ['properties', 'adminCredentials'])));
  const js = src.doc.toJS() as Record<string, unknown>;
  for (const k of Object.keys(js)) if (k !== 'properties' && k !== 'name') delete js[k];
  js.target = { host: opts.targetHost ?? 'target.invalid' };
  diags.push(...validateAgainstSchema('azure', js, src));
  if (diags.some((d) => d.severity === 'error')) fail(file, diags);
  const n = normalizeAzure(js);
  if (n.issues.length)
    fail(
      file,
      n.issues.map((i) => ({ file, line: 1, col: 1, severity: 'error' as const, message: i.message })),
    );
  return emit(n.raw, opts, 'azure', secretsIn(js));
}

function secretsIn(v: unknown): boolean {
  let found = false;
  const walk = (x: unknown, key = ''): void => {
    if (typeof x === 'string' && /password/i.test(key) && x !== '') {
      registerSecret(x);
      found = true;
    } else if (x && typeof x === 'object') for (const [k, val] of Object.entries(x)) walk(val, k);
  };
  walk(v);
  return found;
}

/** Tokenises shell text: quotes, backslash-newline continuations, comments. */
export function shellTokens(text: string): { token: string; line: number; col: number }[] {
  const out: { token: string; line: number; col: number }[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const n = text.length;
  const adv = () => {
    if (text[i] === '\n') {
      line++;
      col = 1;
    } else col++;
    i++;
  };
  while (i < n) {
    const c = text[i] as string;
    if (c === '\\' && text[i + 1] === '\n') {
      adv();
      adv();
      continue;
    }
    if (/\s/.test(c)) {
      adv();
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') adv();
      continue;
    }
    const startLine = line;
    const startCol = col;
    let tok = '';
    while (i < n && !/\s/.test(text[i] as string)) {
      const ch = text[i] as string;
      if (ch === "'" || ch === '"') {
        adv();
        while (i < n && text[i] !== ch) {
          if (ch === '"' && text[i] === '\\' && i + 1 < n) adv();
          tok += text[i];
          adv();
        }
        adv();
      } else if (ch === '\\' && i + 1 < n) {
        adv();
        if (text[i] === '\n') {
          adv();
          continue;
        }
        tok += text[i];
        adv();
      } else {
        tok += ch;
        adv();
      }
    }
    out.push({ token: tok, line: startLine, col: startCol });
  }
  return out;
}

const AIVEN_KEYS = ['host', 'port', 'ssl', 'username', 'password', 'dbname', 'ignore_dbs', 'ignore_roles', 'method'];

export function importAiven(file: string, text: string, opts: ImportOptions = {}): ImportResult {
  // The avn command, or YAML/JSON settings: decided on the text without its comments.
  const code = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  const looksShell = !/^\s*"?migration"?\s*:/m.test(code) && /(^|\s)avn\s|(^|\s)-c\s+migration\./.test(code);
  let js: Record<string, unknown>;
  let src: YamlSource | undefined;
  let service: string | undefined;
  if (looksShell) {
    const toks = shellTokens(text);
    const migration: Record<string, unknown> = {};
    const diags: Diagnostic[] = [];
    for (let k = 0; k < toks.length; k++) {
      const t = toks[k] as { token: string; line: number; col: number };
      if (t.token !== '-c' && !t.token.startsWith('-c')) continue;
      const val = t.token === '-c' ? toks[++k] : { ...t, token: t.token.slice(2) };
      if (!val) break;
      const m = /^migration\.([A-Za-z_]+)=(.*)$/s.exec(val.token);
      if (!m) {
        if (/^migration\./.test(val.token))
          diags.push({
            file,
            line: val.line,
            col: val.col,
            severity: 'error',
            message: `expected -c migration.key=value, got "${val.token.replace(/password=.*/i, 'password=...')}"`,
          });
        continue;
      }
      const key = m[1] as string;
      const value = m[2] as string;
      if (!AIVEN_KEYS.includes(key)) {
        diags.push({
          file,
          line: val.line,
          col: val.col,
          severity: 'error',
          message: `unknown Aiven setting migration.${key}; known: ${AIVEN_KEYS.join(', ')}`,
        });
        continue;
      }
      migration[key] = key === 'port' ? (/^\d+$/.test(value) ? Number(value) : value) : key === 'ssl' ? value === 'true' : value;
    }
    const last = toks[toks.length - 1];
    if (last && !last.token.startsWith('-') && !/=/.test(last.token)) service = last.token;
    if (Object.keys(migration).length === 0)
      diags.push({ file, line: 1, col: 1, severity: 'error', message: 'no -c migration.key=value settings found' });
    if (diags.length) fail(file, diags);
    js = { migration };
    const doc = new Document(js);
    src = parseYaml(file, doc.toString()).source;
  } else {
    src = parseInput(file, text);
    js = wrapped(src, 'migration', (keys) => keys.includes('host') && !keys.includes('migration'));
    for (const k of Object.keys(js)) if (k !== 'migration' && k !== 'name') delete js[k];
  }
  js.target = { host: opts.targetHost ?? 'target.invalid' };
  const diags = validateAgainstSchema('aiven', js, src);
  if (diags.length) fail(file, diags);
  const n = normalizeAiven(js);
  const notes: string[] = [];
  if (service) notes.push(`the avn command targets the Aiven service "${service}": put its host in target.host`);
  const res = emit(n.raw, opts, 'aiven', secretsIn(js));
  return { yaml: res.yaml, notes: [...notes, ...res.notes] };
}

function emit(raw: RawCanonical, opts: ImportOptions, from: 'azure' | 'aiven', hadPassword: boolean): ImportResult {
  const notes: string[] = [];
  const engine = opts.engine ?? (raw.engine === 'mysql' ? 'mysql' : 'postgresql');
  const out: Record<string, unknown> = {
    version: 1,
    name: opts.name ? sanitizeName(opts.name) : raw.name,
    engine,
    mode: raw.mode ?? 'offline',
    option: raw.option ?? 'ValidateAndMigrate',
    method: raw.method ?? 'auto',
  };
  const s = raw.source ?? {};
  out.source = {
    host: s.host,
    port: s.port ?? (engine === 'mysql' ? 3306 : 5432),
    username: s.username,
    password: '${SOURCE_PASSWORD}',
    ...(s.dbname ? { dbname: s.dbname } : {}),
    ssl: s.ssl ?? 'prefer',
  };
  out.target = {
    host: opts.targetHost ?? '${TARGET_HOST}',
    port: opts.targetPort ?? (engine === 'mysql' ? 3306 : 5432),
    username: opts.targetUser ?? raw.target?.username ?? (engine === 'mysql' ? 'root' : 'postgres'),
    password: '${TARGET_PASSWORD}',
    ssl: 'prefer',
  };
  if (!opts.targetHost) notes.push('target.host is ${TARGET_HOST}: export it or write the host of the target server');
  const dbs: Record<string, unknown> = {};
  if (raw.databases?.include?.length) dbs.include = raw.databases.include;
  if (raw.databases?.exclude?.length) dbs.exclude = raw.databases.exclude;
  dbs.overwrite = raw.databases?.overwrite ?? false;
  out.databases = dbs;
  if (engine === 'postgresql') out.roles = { migrate: true, ...(raw.roles?.exclude?.length ? { exclude: raw.roles.exclude } : {}) };
  if (out.mode === 'online') {
    out.replication = { maxLag: engine === 'mysql' ? '5s' : '1MB' };
    out.cutover = raw.cutover ?? false;
  }
  out.verify = 'auto';
  if (raw.cancel?.requested) notes.push('the input requests cancel: run `dbferry cancel` for that; it is not part of migration.yaml');
  if (raw.cutoverDatabases?.length)
    notes.push(`dbsToTriggerCutoverOn (${raw.cutoverDatabases.join(', ')}): use \`dbferry cutover --db ...\``);
  notes.push(
    hadPassword
      ? 'the input contains passwords; they were NOT copied: export SOURCE_PASSWORD and TARGET_PASSWORD (or use ~/.pgpass)'
      : 'passwords are read from SOURCE_PASSWORD and TARGET_PASSWORD (or ~/.pgpass)',
  );
  const doc = new Document(out);
  doc.commentBefore = ` Imported from the ${from === 'azure' ? 'Azure migration properties' : 'Aiven migration settings'} by \`dbferry import ${from}\`.\n Review it, then run: dbferry validate && dbferry plan`;
  return { yaml: `${SCHEMA_MODELINE}\n${doc.toString({ lineWidth: 0 })}`, notes };
}

/** The kind of an import input from its content: Azure properties, Aiven settings, or null. */
export function detectImportKind(text: string): 'azure' | 'aiven' | null {
  const code = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  if (/"?properties"?\s*:/i.test(code)) return 'azure';
  if (/^\s*"?migration"?\s*:/m.test(code) || /(^|\s)avn\s|(^|\s)-c\s+migration\./.test(code)) return 'aiven';
  return null;
}
