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
import { startReplication } from './steps/replica.js';
import { openMysqlDatabase } from './steps/session.js';
import { DbferryError } from '../../util/errors.js';
import { cancelMysql, cutoverMysql, liveMysql } from './online.js';

export const mysqlEngine: Engine = {
  name: 'mysql',
  discover: discoverMysql,
  async check(cfg, opts) {
    const facts = await gatherMysqlFacts(cfg, opts.signal);
    const dbs = facts.discovery?.databases.map((d) => d.source.name) ?? [];
    return { outcome: decideMethods(evaluateMysql(facts, cfg), dbs, cfg.mode, cfg.method), discovery: facts.discovery };
  },
  capabilities: { cancelSomeDatabases: false, cutoverSomeDatabases: 'replicated-together' },
  async prepareTarget() {
    return [];
  },
  openDatabase: openMysqlDatabase,
  async runMigrationStep(step, run) {
    if (step.kind === 'replica') return startReplication(run);
    throw new DbferryError('MIGRATION_FAILED', `MySQL has no migration step "${step.kind}"`);
  },
  cutover: cutoverMysql,
  cancel: cancelMysql,
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
