/** create-database: the target database with the source's character set and collation. */
import { DbferryError } from '../../../util/errors.js';
import { refuseNonEmptyTarget } from '../../target-guard.js';
import { rows } from '../connect.js';
import { qi } from '../sql.js';
import type { MyStep } from './context.js';

export const createDatabase: MyStep = {
  async run(ctx, io) {
    const { cfg, database: db } = ctx.run;
    const [info] = await rows<{ cs: string; co: string }>(
      ctx.control,
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [db],
    );
    if (!info) throw new DbferryError('MIGRATION_FAILED', `database "${db}" not found on the source`);
    if (cfg.databases.overwrite) {
      io.report('dropping the existing target database (overwrite: true)');
      await ctx.admin.query(`DROP DATABASE IF EXISTS ${qi(db)}`);
    } else {
      // The check saw it empty; never write into a database something filled since.
      const [n] = await rows<{ n: number }>(ctx.admin, 'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [db]);
      refuseNonEmptyTarget(db, Number(n?.n ?? 0), 'tables');
    }
    await ctx.admin.query(`CREATE DATABASE IF NOT EXISTS ${qi(db)} CHARACTER SET ${info.cs} COLLATE ${info.co}`);
  },
};
