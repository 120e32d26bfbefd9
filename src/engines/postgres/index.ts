/** The PostgreSQL engine. */
import type { MigrationConfig } from '../../config/types.js';
import { describeServer } from '../../config/connection.js';
import type { Engine } from '../engine.js';
import { SqlStateStore } from '../../state/store.js';
import { connectPg } from './connect.js';
import { discoverPostgres } from './discover.js';
import { decideMethods } from '../checks.js';
import { evaluatePostgres } from './evaluate.js';
import { gatherPgFacts } from './facts.js';
import { openPgDatabase } from './steps/session.js';
import { migrateRoles } from './roles.js';
import { cancelPostgres, cutoverPostgres, describeCutover, liveDatabase } from './online.js';
import { startPgSourceGuard } from './source-guard.js';
import { DbferryError } from '../../util/errors.js';

export const postgresEngine: Engine = {
  name: 'postgresql',
  discover: discoverPostgres,
  sourceGuard: startPgSourceGuard,
  async check(cfg, opts) {
    const facts = await gatherPgFacts(cfg, opts.env, opts.pgbin, opts.signal);
    const dbs = facts.discovery?.databases.map((d) => d.source.name) ?? [];
    return { outcome: decideMethods(evaluatePostgres(facts, cfg), dbs, cfg.mode, cfg.method), discovery: facts.discovery };
  },
  capabilities: { cancelSomeDatabases: true, cutoverSomeDatabases: 'any' },
  async prepareTarget(run) {
    const { cfg } = run;
    if (!cfg.roles.migrate) return ['roles.migrate is false: no roles created'];
    run.report('creating roles');
    const r = await migrateRoles(cfg);
    return [
      `${r.created.length} role(s) created${r.created.length ? `: ${r.created.join(', ')}` : ''}; passwords are not copied (set them with ALTER ROLE ... PASSWORD)`,
      ...(r.existing.length ? [`${r.existing.length} role(s) already on the target, left as they are: ${r.existing.join(', ')}`] : []),
      ...(r.superusersSkipped.length ? [`superuser role(s) not created: ${r.superusersSkipped.join(', ')}`] : []),
      ...r.warnings,
    ];
  },
  openDatabase: openPgDatabase,
  async runMigrationStep(step) {
    throw new DbferryError('MIGRATION_FAILED', `PostgreSQL has no migration step "${step.kind}"`);
  },
  async cutover(run) {
    return (await cutoverPostgres(run)).map(describeCutover);
  },
  async cancel(run) {
    const removed = await cancelPostgres(run);
    return removed.length ? removed.map((r) => `removed ${r}`) : ['no replication objects of this migration were found'];
  },
  async liveDatabases(cfg, databases) {
    return Promise.all(databases.map((d) => liveDatabase(cfg, d)));
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
