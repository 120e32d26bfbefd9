/** What every PostgreSQL check group reads: the facts, the config, and what follows from them. Pure. */
import type { MigrationConfig } from '../../../config/types.js';
import type { Discovery } from '../../engine.js';
import type { PgFacts, ServerSide, SourceDbFacts } from '../facts.js';

export interface PgCheckContext {
  f: PgFacts;
  cfg: MigrationConfig;
  /** Online and not method dump: the replication prerequisites are checked. */
  online: boolean;
  /** The servers that answered (undefined: not connected, the connectivity check says why). */
  src: ServerSide | undefined;
  tgt: ServerSide | undefined;
  /** The databases to migrate (none without discovery). */
  dbs: Discovery['databases'];
  /** Databases that need a replication slot, a WAL sender and a worker each: at least one. */
  n: number;
}

/** One database to migrate, with its source facts (undefined when they could not be read). */
export interface PgDbCheckContext extends PgCheckContext {
  d: Discovery['databases'][number];
  name: string;
  D: { level: 'database'; database: string };
  facts: SourceDbFacts | undefined;
}

export function pgCheckContext(f: PgFacts, cfg: MigrationConfig): PgCheckContext {
  const dbs = f.discovery?.databases ?? [];
  return {
    f,
    cfg,
    online: cfg.mode === 'online' && cfg.method !== 'dump',
    src: f.source.connected ? f.source : undefined,
    tgt: f.target.connected ? f.target : undefined,
    dbs,
    n: Math.max(1, dbs.length),
  };
}

export function pgDbCheckContext(c: PgCheckContext, d: Discovery['databases'][number]): PgDbCheckContext {
  const name = d.source.name;
  return { ...c, d, name, D: { level: 'database', database: name }, facts: c.f.databases.find((x) => x.name === name) };
}

export const major = (n: number): number => Math.floor(n / 10000);

export const list = (xs: string[], max = 8): string =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;

export function quoteRole(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
