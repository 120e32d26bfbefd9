/** The PostgreSQL engine. */
import type { MigrationConfig } from '../../config/types.js';
import { describeServer } from '../../config/connection.js';
import { notImplemented, type Engine } from '../engine.js';
import { SqlStateStore } from '../../run/state/store.js';
import { connectPg } from './connect.js';
import { discoverPostgres } from './discover.js';
import { decideMethods } from '../checks.js';
import { evaluatePostgres } from './evaluate.js';
import { gatherPgFacts } from './facts.js';

export const postgresEngine: Engine = {
  name: 'postgresql',
  discover: discoverPostgres,
  async check(cfg, opts) {
    const facts = await gatherPgFacts(cfg, opts.env, opts.pgbin, opts.signal);
    const dbs = facts.discovery?.databases.map((d) => d.source.name) ?? [];
    return { outcome: decideMethods(evaluatePostgres(facts, cfg), dbs, cfg.mode, cfg.method), discovery: facts.discovery };
  },
  async migrateDatabase(run) {
    throw notImplemented(`the PostgreSQL ${run.method} method (copying database "${run.database}")`);
  },
  async cutover() {
    throw notImplemented('cutover of a PostgreSQL online migration');
  },
  async cancel() {
    throw notImplemented('cancel of a PostgreSQL migration');
  },
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
