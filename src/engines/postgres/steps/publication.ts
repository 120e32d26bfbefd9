/**
 * publication (online): the tables to replicate, published on the source before the slot exists
 * (the slot decodes with the catalog of its consistent point).
 */
import type { MigrationConfig } from '../../../config/types.js';
import { tableWanted } from '../../selection.js';
import { withPg } from '../connect.js';
import { createPublication, dropSourceObjects } from '../replication.js';
import type { PgStep } from './context.js';

interface TableName {
  schema: string;
  name: string;
}

/** Tables to publish: the copied ones that are logged; those without a key inserts-only, unless replicaIdentityFull. */
async function publicationTables(
  cfg: MigrationConfig,
  db: string,
): Promise<{ tables: TableName[]; identityFull: TableName[]; keyless: TableName[] }> {
  const rows = await withPg('source', cfg.source, { database: db, readOnly: true }, async (c) => {
    const r = await c.query<{ schema: string; name: string; nokey: boolean }>(
      `SELECT n.nspname AS schema, c.relname AS name,
              (c.relreplident = 'n' OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))) AS nokey
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'dbferry')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ORDER BY 1, 2`,
    );
    return r.rows;
  });
  const chosen = rows.filter((t) => tableWanted(cfg, db, t.schema, t.name));
  const names = (xs: typeof chosen): TableName[] => xs.map((r) => ({ schema: r.schema, name: r.name }));
  const nokey = chosen.filter((r) => r.nokey);
  if (cfg.replication.replicaIdentityFull) return { tables: names(chosen), identityFull: names(nokey), keyless: [] };
  return { tables: names(chosen.filter((r) => !r.nokey)), identityFull: [], keyless: names(nokey) };
}

export const publication: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db } = ctx.run;
    const pub = await publicationTables(cfg, db);
    if (pub.keyless.length)
      io.report(
        `replicated by their inserts (no primary key or replica identity; re-copied at cutover if UPDATE or DELETE changed them): ${pub.keyless.map((t) => `${t.schema}.${t.name}`).join(', ')}`,
      );
    // A run killed before it recorded anything may have left this migration's slot or publication.
    await dropSourceObjects(cfg, db, ctx.objectName);
    await withPg('source', cfg.source, { database: db }, (c) =>
      createPublication(c, ctx.objectName, pub.tables, pub.identityFull, pub.keyless),
    );
    await ctx.run.probe.at('after-publication');
    io.report(`publication ${ctx.objectName} created`);
  },
};
