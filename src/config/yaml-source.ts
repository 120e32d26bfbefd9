/**
 * YAML with positions: parse a document, expand ${VAR} references in its scalars in place, and map
 * a path of keys back to `line:col` for diagnostics. Pure apart from the env object it is given.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import type { Diagnostic } from '../util/errors.js';

export type YamlPath = readonly (string | number)[];

export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  lc: LineCounter;
}

export interface ParsedYaml {
  source: YamlSource;
  diagnostics: Diagnostic[];
}

export function parseYaml(file: string, text: string): ParsedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  const diagnostics: Diagnostic[] = [];
  for (const err of doc.errors) {
    const pos = lc.linePos(err.pos[0]);
    diagnostics.push({ file, line: pos.line, col: pos.col, severity: 'error', message: `YAML syntax: ${cleanYamlMessage(err.message)}` });
  }
  for (const w of doc.warnings) {
    const pos = lc.linePos(w.pos[0]);
    diagnostics.push({ file, line: pos.line, col: pos.col, severity: 'warning', message: `YAML: ${cleanYamlMessage(w.message)}` });
  }
  return { source: { file, doc, lc }, diagnostics };
}

function cleanYamlMessage(m: string): string {
  const first = m.split('\n')[0] ?? m;
  return first.replace(/\s+at line \d+, column \d+:?\s*$/, '').trim();
}

export function positionOf(src: YamlSource, offset: number): { line: number; col: number } {
  return src.lc.linePos(offset);
}

/** Where to point for a path: the key of the last segment (`key`) or its value (`value`). */
export function locate(src: YamlSource, path: YamlPath, what: 'key' | 'value' = 'value'): { line: number; col: number } {
  let node: unknown = src.doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  const pos = () => src.lc.linePos(offset);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return pos();
      const keyOffset = (pair.key as Node).range?.[0] ?? offset;
      if (last && what === 'key') {
        offset = keyOffset;
        return pos();
      }
      const value = pair.value as Node | null;
      offset = value?.range && !(isScalar(value) && value.value === null) ? value.range[0] : keyOffset;
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return pos();
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return pos();
    }
  }
  return pos();
}

export interface ExpandResult {
  diagnostics: Diagnostic[];
  /** Values that came from the environment into password-like keys. */
  secrets: string[];
  /** Paths of password-like keys written literally in the file. */
  literalSecrets: YamlPath[];
}

const VAR = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^}\\]|\\.)*))?\}|\$\{([^}]*)\}?/g;
const SECRET_KEY = /password|secret|privatekey$|passphrase/i;

/** Expands ${VAR} and ${VAR:-default} in every string scalar of the document, in place. */
export function expandEnv(
  src: YamlSource,
  env: Readonly<Record<string, string | undefined>>,
  opts: { unsetAllowed?: boolean } = {},
): ExpandResult {
  const diagnostics: Diagnostic[] = [];
  const secrets: string[] = [];
  const literalSecrets: YamlPath[] = [];
  visit(src.doc, {
    Scalar(_key, node, ancestors) {
      if (typeof node.value !== 'string') return;
      const path = pathOf(ancestors, node);
      const keyName = String(path[path.length - 1] ?? '');
      const isSecretKey =
        SECRET_KEY.test(keyName) &&
        ancestors.length > 0 &&
        isPair(ancestors[ancestors.length - 1]) &&
        (ancestors[ancestors.length - 1] as Pair).value === node;
      const text = node.value;
      if (!text.includes('$')) {
        if (isSecretKey && text !== '') literalSecrets.push(path);
        return;
      }
      const start = node.range?.[0] ?? 0;
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      let usedVar = false;
      const out = text.replace(
        VAR,
        (m: string, name: string | undefined, def: string | undefined, bad: string | undefined, idx: number) => {
          if (m === '$${') return '${';
          const at = src.lc.linePos(start + idx + (quoted ? 1 : 0));
          if (name === undefined) {
            diagnostics.push({
              file: src.file,
              line: at.line,
              col: at.col,
              severity: 'error',
              message: `malformed environment reference "${m}"${bad !== undefined ? '' : ''}: write \${NAME} or \${NAME:-default} (NAME: letters, digits, _)`,
            });
            return m;
          }
          usedVar = true;
          const v = env[name];
          if (v === undefined || v === '') {
            if (def !== undefined) return def.replace(/\\(.)/g, '$1');
            if (v === '') return '';
            if (opts.unsetAllowed) {
              diagnostics.push({
                file: src.file,
                line: at.line,
                col: at.col,
                severity: 'warning',
                message: `environment variable ${name} is not set (referenced as \${${name}}): fine for validate and plan --offline; the commands that connect need it`,
              });
              return m;
            }
            diagnostics.push({
              file: src.file,
              line: at.line,
              col: at.col,
              severity: 'error',
              message: `environment variable ${name} is not set (referenced as \${${name}}); export it or write \${${name}:-default}`,
            });
            return '';
          }
          if (isSecretKey) secrets.push(v);
          return v;
        },
      );
      if (isSecretKey && !usedVar && out !== '') literalSecrets.push(path);
      node.value = out;
    },
  });
  return { diagnostics, secrets, literalSecrets };
}

function pathOf(ancestors: readonly unknown[], node: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let child: unknown = node;
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const a = ancestors[i];
    if (isPair(a)) {
      if (a.value === child && isScalar(a.key)) path.unshift(String(a.key.value));
      else if (a.key === child) path.unshift(String((a.key as { value?: unknown }).value ?? ''));
    } else if (isSeq(a)) {
      path.unshift(a.items.indexOf(child as never));
    }
    child = a;
  }
  return path;
}

/** Renames map keys in place (positions are kept), e.g. Azure's case-insensitive keys. */
export function renameKeys(src: YamlSource, path: YamlPath, canonicalKeys: readonly string[]): Diagnostic[] {
  let node: unknown = src.doc.contents;
  for (const seg of path) {
    if (!isMap(node)) return [];
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
    if (!pair) return [];
    node = pair.value;
  }
  if (!isMap(node)) return [];
  const byLower = new Map(canonicalKeys.map((k) => [k.toLowerCase(), k]));
  const seen = new Map<string, string>();
  const out: Diagnostic[] = [];
  for (const pair of node.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') continue;
    const written = pair.key.value;
    const canon = byLower.get(written.toLowerCase());
    if (!canon) continue;
    const earlier = seen.get(canon);
    if (earlier !== undefined) {
      const at = src.lc.linePos(pair.key.range?.[0] ?? 0);
      out.push({
        file: src.file,
        line: at.line,
        col: at.col,
        severity: 'error',
        message: `key "${written}" repeats "${earlier}" (keys here are case-insensitive, as in Azure)`,
      });
      continue;
    }
    seen.set(canon, written);
    if (canon !== written) pair.key.value = canon;
  }
  return out;
}
