/** Large objects, which neither COPY nor logical replication carry: copied in 1 MB chunks. */
import type { PgClient } from './connect.js';

const CHUNK = 1024 * 1024;

/** Writes the source's large object `oid` into the target's (created when missing). */
export async function copyLargeObject(src: PgClient, tgt: PgClient, oid: string): Promise<void> {
  const exists = (await tgt.query('SELECT 1 FROM pg_largeobject_metadata WHERE oid = $1::oid', [oid])).rowCount === 1;
  if (!exists) await tgt.query('SELECT lo_create($1::oid)', [oid]);
  for (let off = 0; ; off += CHUNK) {
    const part = (await src.query<{ b: Buffer }>('SELECT lo_get($1::oid, $2, $3) AS b', [oid, off, CHUNK])).rows[0]?.b;
    if (!part || part.length === 0) break;
    await tgt.query('SELECT lo_put($1::oid, $2, $3)', [oid, off, part]);
    if (part.length < CHUNK) break;
  }
}

async function digests(c: PgClient): Promise<Map<string, string>> {
  const r = await c.query<{ oid: string; h: string }>('SELECT oid::text AS oid, md5(lo_get(oid)) AS h FROM pg_largeobject_metadata');
  return new Map(r.rows.map((x) => [x.oid, x.h]));
}

/**
 * Makes the target's large objects those of the source: the ones created or changed since the
 * copy are copied again (unlinked first, so a shorter object does not keep the old tail), the
 * ones unlinked on the source are unlinked. Returns how many of each.
 */
export async function resyncLargeObjects(src: PgClient, tgt: PgClient): Promise<{ copied: number; removed: number }> {
  const [a, b] = await Promise.all([digests(src), digests(tgt)]);
  let copied = 0;
  let removed = 0;
  for (const oid of b.keys()) {
    if (a.has(oid)) continue;
    await tgt.query('SELECT lo_unlink($1::oid)', [oid]);
    removed++;
  }
  for (const [oid, h] of a) {
    if (b.get(oid) === h) continue;
    if (b.has(oid)) await tgt.query('SELECT lo_unlink($1::oid)', [oid]);
    await copyLargeObject(src, tgt, oid);
    copied++;
  }
  return { copied, removed };
}
