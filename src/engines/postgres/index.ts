/** The PostgreSQL engine. */
import type { MigrationConfig } from '../../config/types.js';
import { describeServer } from '../../config/connection.js';
import type { Engine } from '../engine.js';
import { SqlStateStore } from '../../run/state/store.js';
import { connectPg } from './connect.js';
import { discoverPostgres } from './discover.js';

export const postgresEngine: Engine = {
  name: 'postgresql',
  discover: discoverPostgres,
  async openStateStore(cfg: MigrationConfig) {
    const client = await connectPg('target', cfg.target, { applicationName: 'dbferry-state' });
    return new SqlStateStore(
      {
        dialect: 'postgresql',
        query: async (sql, params) => (await client.query(sql, params)).rows as Record<string, unknown>[],
        close: () => client.end(),
      },
      `target ${describeServer(cfg.target)}, database "${cfg.target.dbname ?? 'postgres'}", schema dbferry`,
    );
  },
};
