/** Stable hashing of the config, for saved plans. Pure. */
import { createHash } from 'node:crypto';
import type { MigrationConfig } from '../config/types.js';

/** JSON with keys sorted at every level: the same value always gives the same text. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The config without secrets (no password, nor where it comes from). */
export function redactedConfig(cfg: MigrationConfig): Record<string, unknown> {
  const conn = (c: MigrationConfig['source']) => ({
    ...c,
    password: undefined,
    passwordSource: undefined,
    tunnel: undefined,
    ssh: c.ssh && { ...c.ssh, privateKey: c.ssh.privateKey && '(set)', passphrase: undefined },
  });
  return { ...cfg, source: conn(cfg.source), target: conn(cfg.target) };
}

export function configFingerprint(cfg: MigrationConfig): string {
  return `sha256:${createHash('sha256')
    .update(stableStringify(redactedConfig(cfg)))
    .digest('hex')}`;
}
