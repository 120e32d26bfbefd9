/** What every MySQL / MariaDB check group reads: the facts, the config, and what follows from them. Pure. */
import type { MigrationConfig } from '../../../config/types.js';
import type { Discovery } from '../../engine.js';
import type { MyDbFacts, MyFacts, MySide } from '../facts.js';

export interface MyCheckContext {
  f: MyFacts;
  cfg: MigrationConfig;
  /** Online and not method dump: the replication prerequisites are checked. */
  online: boolean;
  /** The servers that answered (undefined: not connected, the connectivity check says why). */
  src: MySide | undefined;
  tgt: MySide | undefined;
  /** The databases to migrate (none without discovery). */
  dbs: Discovery['databases'];
}

/** One database to migrate, with its source facts (undefined when they could not be read). */
export interface MyDbCheckContext extends MyCheckContext {
  d: Discovery['databases'][number];
  name: string;
  D: { level: 'database'; database: string };
  facts: MyDbFacts | undefined;
}

export function myCheckContext(f: MyFacts, cfg: MigrationConfig): MyCheckContext {
  return {
    f,
    cfg,
    online: cfg.mode === 'online' && cfg.method !== 'dump',
    src: f.source.connected ? f.source : undefined,
    tgt: f.target.connected ? f.target : undefined,
    dbs: f.discovery?.databases ?? [],
  };
}

export function myDbCheckContext(c: MyCheckContext, d: Discovery['databases'][number]): MyDbCheckContext {
  const name = d.source.name;
  return { ...c, d, name, D: { level: 'database', database: name }, facts: c.f.databases.find((x) => x.name === name) };
}

/** Marks a replication prerequisite: under method auto its failure falls back to dump. */
export const R = { replication: true } as const;

export const list = (xs: string[], max = 8): string =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;
