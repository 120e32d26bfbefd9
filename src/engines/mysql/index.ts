/** The MySQL / MariaDB engine. */
import type { MigrationConfig } from '../../config/types.js';
import { describeServer } from '../../config/connection.js';
import type { Engine } from '../engine.js';
import { SqlStateStore } from '../../state/store.js';
import { connectMysql } from './connect.js';
import { discoverMysql } from './discover.js';
import { decideMethods } from '../checks.js';
import { evaluateMysql } from './evaluate.js';
import { gatherMysqlFacts } from './facts.js';
import { migrateMysqlDatabase, startReplication } from './migrate.js';
import { cancelMysql, cutoverMysql, liveMysql } from './online.js';

export const mysqlEngine: Engine = {
  name: 'mysql',
  discover: discoverMysql,
  async check(cfg, opts) {
    const facts = await gatherMysqlFacts(cfg, opts.signal);
    const dbs = facts.discovery?.databases.map((d) => d.source.name) ?? [];
    return { outcome: decideMethods(evaluateMysql(facts, cfg), dbs, cfg.mode, cfg.method), discovery: facts.discovery };
  },
  async prepareTarget() {
    return [];
  },
  async afterDatabases(cfg, store, report, env) {
    return startReplication(cfg, store, report, env);
  },
  async migrateDatabase(run) {
    await migrateMysqlDatabase(run);
  },
  async cutover(cfg, store, databases, report, signal) {
    return cutoverMysql(cfg, store, databases, report, signal);
  },
  async cancel(cfg, store, _databases, report) {
    return cancelMysql(cfg, store, report);
  },
  async liveDatabases(cfg, databases) {
    return liveMysql(cfg, databases);
  },
  async openStateStore(cfg: MigrationConfig) {
    const c = await connectMysql('target', cfg.target);
    return new SqlStateStore(
      {
        dialect: 'mysql',
        query: async (sql, params) => {
          const [r] = await c.query(sql, params ?? []);
          return r as Record<string, unknown>[];
        },
        close: () => c.end(),
      },
      `target ${describeServer(cfg.target)}, database dbferry`,
    );
  },
};
