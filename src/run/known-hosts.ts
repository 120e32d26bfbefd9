/**
 * OpenSSH known_hosts lookup, pure: plain (with * ? ! patterns) and hashed (`|1|salt|hash`) host names, `[host]:port`
 * for ports other than 22, `@revoked` lines. `@cert-authority` lines are not supported and are
 * skipped.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type HostKeyVerdict = 'known' | 'changed' | 'revoked' | 'unknown';

/** The name OpenSSH records for a host and port. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    const want = Buffer.from(hash, 'base64');
    return want.length === mac.length && timingSafeEqual(mac, want);
  }
  // OpenSSH patterns: * and ? wildcards, !negated entries that exclude a name.
  const matches = (p: string) =>
    new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
      'i',
    ).test(name);
  const patterns = pattern.split(',');
  if (patterns.some((p) => p.startsWith('!') && matches(p.slice(1)))) return false;
  return patterns.some((p) => !p.startsWith('!') && matches(p));
}

/** What known_hosts says of the key (its wire-format blob) a server at host:port presented. */
export function verifyHostKey(knownHostsText: string, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  let sawName = false;
  for (const raw of knownHostsText.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [names, , keyText] = fields;
    if (!names || !keyText || marker === '@cert-authority' || !nameMatches(names, name)) continue;
    const same = Buffer.from(keyText, 'base64').equals(keyBlob);
    if (marker === '@revoked') {
      if (same) return 'revoked';
      continue;
    }
    if (same) return 'known';
    sawName = true;
  }
  return sawName ? 'changed' : 'unknown';
}
