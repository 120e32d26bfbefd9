/**
 * Secret redaction. Every password dbferry learns (from YAML, URI, environment or .pgpass) is
 * registered here; every line dbferry prints, logs, stores or writes to a file passes through
 * `redact`. Patterns also catch secrets dbferry never registered (URIs with a password,
 * libpq keyword strings, PGPASSWORD=... in child-process messages).
 */
const secrets = new Set<string>();
export const MASK = '********';

export function registerSecret(value: string | undefined | null): void {
  if (value === undefined || value === null) return;
  const s = String(value);
  // An unexpanded ${VAR} reference (validate without the environment) names a secret, it is not one.
  if (/^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/.test(s)) return;
  // Very short values would mask ordinary text everywhere; they are still never printed by us
  // because no code path prints a password on purpose. Register anything of length >= 3.
  if (s.length >= 3) secrets.add(s);
  try {
    const enc = encodeURIComponent(s);
    if (enc !== s && enc.length >= 3) secrets.add(enc);
  } catch {
    /* lone surrogate: ignore */
  }
}

/** Test helper: forget all registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const URI_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)(@)/gi;
// libpq keyword strings (password=...), URI query parameters and environment assignments.
// `${VAR}` references are not secrets and are left alone.
const KEYWORD_PASSWORD = /\b(password|passwd|PGPASSWORD|MYSQL_PWD)(\s*=\s*)(?!\$\{)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s,;&)}]+)/gi;

export function redact(text: string): string {
  let out = text;
  // Longest first so a secret containing another is masked whole.
  const list = [...secrets].sort((a, b) => b.length - a.length);
  for (const s of list) {
    if (out.includes(s)) out = out.replace(new RegExp(escapeRegExp(s), 'g'), MASK);
  }
  out = out.replace(URI_PASSWORD, `$1${MASK}$3`);
  out = out.replace(KEYWORD_PASSWORD, (_m, k: string, sep: string) => `${k}${sep}${MASK}`);
  return out;
}

/** Deep-redact any JSON-like value (strings masked, keys named like passwords blanked). */
export function redactValue<T>(value: T): T {
  return walk(value) as T;
}

function walk(v: unknown): unknown {
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map(walk);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      out[k] = /password|secret/i.test(k) && typeof val === 'string' && val !== '' ? MASK : walk(val);
    }
    return out;
  }
  return v;
}
