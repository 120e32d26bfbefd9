/** create-database: the target database, with the source's encoding and collation. */
import { withPg, connectPg } from '../connect.js';
import { databaseContents } from '../discover.js';
import { qi, ql } from '../sql.js';
import { refuseNonEmptyTarget } from '../../target-guard.js';
import type { PgStep } from './context.js';

export const createDatabase: PgStep = {
  async run(ctx, io) {
    const { cfg, database: db } = ctx.run;
    // The schema script (pg_dump on the snapshot, the target's roles) does not need the database:
    // when this run creates the schema, it is read while the database is created.
    if (ctx.snapshot && ctx.run.running.has(`${db}:schema-pre-data`)) ctx.script().catch(() => undefined);
    const admin = await connectPg('target', cfg.target, { settings: { statement_timeout: '0' } });
    try {
      const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1;
      if (exists && cfg.databases.overwrite) {
        io.report('dropping the existing target database (overwrite: true)');
        const tv = Number((await admin.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
        await admin.query(`DROP DATABASE ${qi(db)}${tv >= 130000 ? ' WITH (FORCE)' : ''}`);
      }
      if (exists && !cfg.databases.overwrite) {
        // The check saw it empty; something may have filled it since: never write into it then.
        const contents = await withPg('target', cfg.target, { database: db, readOnly: true }, databaseContents);
        refuseNonEmptyTarget(db, contents.objects, 'objects');
        return;
      }
      const s = ctx.source;
      await admin.query(
        `CREATE DATABASE ${qi(db)} WITH TEMPLATE template0 ENCODING ${ql(s.encoding)} LC_COLLATE ${ql(s.collate)} LC_CTYPE ${ql(s.ctype)}`,
      );
    } finally {
      await admin.end().catch(() => undefined);
    }
  },
};
