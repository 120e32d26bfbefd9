/**
 * Loading migration.yaml: read the file, parse with positions, expand ${VAR}, validate against the
 * schema, normalise the Aiven/Azure forms, resolve connections, apply the semantic rules. All
 * problems are collected and raised together as one CONFIG_INVALID error with diagnostics.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isMap, isScalar, visit } from 'yaml';
import { DbferryError, type Diagnostic } from '../util/errors.js';
import { registerSecret } from '../util/redact.js';
import { normalizeAiven, normalizeAzure, normalizeCanonical, originOf, type Normalized, type Origins } from './forms.js';
import { schemaKeys, validateAgainstSchema } from './schema.js';
import { buildConfig } from './semantic.js';
import type { ConfigForm, LoadedConfig, MigrationConfig } from './types.js';
import { expandEnv, locate, parseYaml, renameKeys, type YamlSource } from './yaml-source.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  env?: Env;
  /** Text of the .pgpass file; read from PGPASSFILE or ~/.pgpass when omitted. */
  pgpassText?: string;
  /**
   * validate: an unset ${VAR} is a note and its reference is kept as the value, so a file can be
   * checked without the secrets it will be run with. Commands that connect need every variable.
   */
  unsetVariablesAllowed?: boolean;
}

function diag(file: string, line: number, col: number, message: string, severity: 'error' | 'warning' = 'error'): Diagnostic {
  return { file, line, col, severity, message };
}

export function readPgpass(env: Env): string | undefined {
  const file = env.PGPASSFILE ?? resolve(homedir(), '.pgpass');
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Reads and loads a config file; throws DbferryError(CONFIG_INVALID | FILE_NOT_FOUND). */
export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadedConfig {
  let text: string;
  try {
    const st = statSync(file);
    if (st.isDirectory()) {
      throw new DbferryError('CONFIG_INVALID', `${file} is a directory`, {
        diagnostics: [diag(file, 1, 1, 'is a directory; expected a migration YAML file (e.g. migration.yaml)')],
        hint: 'Pass the path of the YAML file, not of its directory.',
      });
    }
    const buf = readFileSync(file);
    if (buf.includes(0)) {
      throw new DbferryError('CONFIG_INVALID', `${file} is not a text file`, {
        diagnostics: [diag(file, 1, 1, 'is a binary file (it contains NUL bytes); expected a migration YAML file')],
      });
    }
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof DbferryError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new DbferryError('FILE_NOT_FOUND', `${file}: no such file`, {
        hint: 'Create it (see examples/ and `dbferry import`) or pass the path of your migration YAML.',
      });
    }
    throw new DbferryError('CONFIG_INVALID', `${file}: cannot be read (${code ?? 'error'})`, {
      diagnostics: [diag(file, 1, 1, `cannot be read: ${code ?? 'unknown error'}`)],
    });
  }
  return loadConfigText(file, text, opts);
}

/** What the loading steps share: the file, its parsed YAML, the environment, and the diagnostics so far. */
interface LoadContext {
  file: string;
  src: YamlSource;
  env: Env;
  diagnostics: Diagnostic[];
}

/** Loads a config from text (file is used for messages and relative paths). */
export function loadConfigText(file: string, text: string, opts: LoadOptions = {}): LoadedConfig {
  const env: Env = opts.env ?? process.env;
  const { src, diagnostics } = parseConfigYaml(file, text);
  const c: LoadContext = { file, src, env, diagnostics };
  const form = detectForm(c);
  checkAliases(c);
  if (diagnostics.some((d) => d.severity === 'error')) configInvalid(file, diagnostics);
  const expanded = expandEnv(src, env, { unsetAllowed: opts.unsetVariablesAllowed === true });
  diagnostics.push(...expanded.diagnostics);
  for (const s of expanded.secrets) registerSecret(s);

  const js = src.doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  // Register literal secrets before anything could print them.
  for (const path of expanded.literalSecrets) {
    const v = getIn(js, path);
    if (typeof v === 'string') registerSecret(v);
  }
  const { config, origins } = validateAndBuild(c, { form, js, pgpassText: opts.pgpassText });
  registerConfigSecrets(config);
  for (const path of expanded.literalSecrets) {
    const at = locate(src, path);
    diagnostics.push(
      diag(
        file,
        at.line,
        at.col,
        `a password is written in the file; use \${VARIABLE} (or PGPASSWORD / ~/.pgpass) so it is not committed`,
        'warning',
      ),
    );
  }
  const referencedFiles = resolveReferencedFiles(c, config, origins);
  if (diagnostics.some((d) => d.severity === 'error')) configInvalid(file, diagnostics);
  return {
    config,
    form,
    file: resolve(file),
    referencedFiles,
    warnings: sortDiagnostics(diagnostics.filter((d) => d.severity === 'warning')),
  };
}

/** Throws every diagnostic, sorted, as one CONFIG_INVALID error. */
function configInvalid(file: string, diagnostics: Diagnostic[]): never {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  throw new DbferryError('CONFIG_INVALID', `${file}: ${errors.length} error${errors.length === 1 ? '' : 's'} in the migration config`, {
    diagnostics: sortDiagnostics(diagnostics),
    hint: 'Fix the lines above; `dbferry validate` checks the file without touching any server.',
  });
}

/** The YAML document with positions; throws on an empty file, a syntax error or a top level that is not a mapping. */
function parseConfigYaml(file: string, text: string): { src: YamlSource; diagnostics: Diagnostic[] } {
  const stripped = text.replace(/^\uFEFF/, '');
  if (stripped.split(/\r?\n/).every((l) => l.trim() === '' || l.trim().startsWith('#'))) {
    configInvalid(file, [
      diag(file, 1, 1, 'the file is empty; expected a migration with at least name, source and target (see examples/)'),
    ]);
  }
  const parsed = parseYaml(file, stripped);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  if (diagnostics.some((d) => d.severity === 'error')) configInvalid(file, diagnostics);
  const src = parsed.source;
  if (!isMap(src.doc.contents)) {
    const at = locate(src, []);
    configInvalid(file, [
      ...diagnostics,
      diag(file, at.line, at.col, 'the top level must be a mapping of keys (name:, source:, target:, ...), not a single value or a list'),
    ]);
  }
  return { src, diagnostics };
}

/** Aiven (`migration:`), Azure (`properties:`, whose keys are renamed to the schema's case) or canonical. */
function detectForm({ src, diagnostics }: LoadContext): ConfigForm {
  const root = src.doc.contents;
  const topKeys = isMap(root) ? root.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')) : [];
  if (topKeys.includes('migration')) return 'aiven';
  if (!topKeys.some((k) => k.toLowerCase() === 'properties')) return 'canonical';
  diagnostics.push(...renameKeys(src, [], ['properties']));
  diagnostics.push(...renameKeys(src, ['properties'], schemaKeys('azure', ['properties'])));
  diagnostics.push(...renameKeys(src, ['properties', 'secretParameters'], schemaKeys('azure', ['properties', 'secretParameters'])));
  diagnostics.push(
    ...renameKeys(
      src,
      ['properties', 'secretParameters', 'adminCredentials'],
      schemaKeys('azure', ['properties', 'secretParameters', 'adminCredentials']),
    ),
  );
  diagnostics.push(...renameKeys(src, ['properties', 'adminCredentials'], schemaKeys('azure', ['properties', 'adminCredentials'])));
  return 'azure';
}

/** An alias (*name) needs its anchor (&name) before it; toJS would throw on one that has none. */
function checkAliases({ file, src, diagnostics }: LoadContext): void {
  visit(src.doc, {
    Alias(_key, node) {
      if (node.resolve(src.doc) !== undefined) return;
      const at = src.lc.linePos(node.range?.[0] ?? 0);
      diagnostics.push(
        diag(
          file,
          at.line,
          at.col,
          `alias *${node.source} refers to no anchor: define &${node.source} before this line, or write the value here`,
        ),
      );
    },
  });
}

/**
 * The schema, the form's normalisation and the semantic rules, each problem located in the file.
 * Semantic rules run even when the schema found errors, so that all problems are reported at
 * once; a rule is not reported on a line the schema already flagged.
 */
function validateAndBuild(
  c: LoadContext,
  input: { form: ConfigForm; js: Record<string, unknown>; pgpassText: string | undefined },
): { config: MigrationConfig; origins: Origins } {
  const { file, src, env, diagnostics } = c;
  const { form, js } = input;
  const schemaErrors = validateAgainstSchema(form, js, src);
  diagnostics.push(...schemaErrors);
  const flaggedLines = new Set(schemaErrors.map((d) => d.line));
  const normalized: Normalized = form === 'aiven' ? normalizeAiven(js) : form === 'azure' ? normalizeAzure(js) : normalizeCanonical(js);
  for (const issue of normalized.issues) {
    const at = locate(src, issue.path);
    if (!flaggedLines.has(at.line)) diagnostics.push(diag(file, at.line, at.col, issue.message));
  }
  const pgpassText = input.pgpassText ?? readPgpass(env);
  let built: ReturnType<typeof buildConfig> | undefined;
  try {
    built = buildConfig({ raw: normalized.raw, env, pgpassText });
  } catch (e) {
    // Only reachable with values the schema already rejected.
    if (schemaErrors.length === 0) throw e;
  }
  if (!built) return configInvalid(file, diagnostics);
  const { config, issues } = built;
  for (const issue of issues) {
    const at = locate(src, originOf(normalized.origins, issue.path), issue.what);
    if (!flaggedLines.has(at.line)) diagnostics.push(diag(file, at.line, at.col, issue.message, issue.severity));
  }
  return { config, origins: normalized.origins };
}

/** Registers the config's secrets with the redactor, so that no output prints them. */
function registerConfigSecrets(config: MigrationConfig): void {
  registerSecret(config.source.password);
  registerSecret(config.target.password);
  for (const role of ['source', 'target'] as const) {
    const ssh = config[role].ssh;
    registerSecret(ssh?.passphrase);
    // A key is redacted whole and line by line, whatever part of it an error might quote.
    for (const part of [ssh?.privateKey, ...(ssh?.privateKey?.split(/\r?\n/) ?? [])]) if (part && part.length >= 16) registerSecret(part);
  }
  // A webhook URL often is its own credential (Slack, Teams): never printed.
  for (const url of config.notify.webhooks) registerSecret(url);
}

/**
 * Files the config references, relative to the YAML file: made absolute in the config, watched by
 * plan --watch, and an error when absent. `~/` is expanded for SSH paths only, as ssh does (libpq
 * does not for its ssl files).
 */
function resolveReferencedFiles({ file, src, env, diagnostics }: LoadContext, config: MigrationConfig, origins: Origins): string[] {
  const referencedFiles: string[] = [];
  const base = dirname(resolve(file));
  const reference = (written: string, path: string[], required: boolean, expandHome = false): string => {
    const p = expandHome && written.startsWith('~/') ? join(env.HOME ?? homedir(), written.slice(2)) : written;
    const abs = isAbsolute(p) ? p : resolve(base, p);
    referencedFiles.push(abs);
    if (required && !existsSync(abs)) {
      const at = locate(src, originOf(origins, path));
      diagnostics.push(diag(file, at.line, at.col, `${path.join('.')} file ${written} does not exist`));
    }
    return abs;
  };
  for (const role of ['source', 'target'] as const) {
    const c = config[role];
    for (const key of ['sslrootcert', 'sslcert', 'sslkey'] as const) {
      const p = c[key];
      if (p) c[key] = reference(p, [role, key], true);
    }
    const ssh = c.ssh;
    if (ssh?.privateKeyFile) ssh.privateKeyFile = reference(ssh.privateKeyFile, [role, 'ssh', 'privateKeyFile'], true, true);
    // The default known_hosts may be absent: opening the tunnel says so.
    if (ssh) ssh.knownHosts = reference(ssh.knownHosts, [role, 'ssh', 'knownHosts'], ssh.knownHosts !== '~/.ssh/known_hosts', true);
  }
  return referencedFiles;
}

function getIn(obj: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[String(seg)];
  }
  return cur;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.line - b.line || a.col - b.col || a.message.localeCompare(b.message));
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`;
}
