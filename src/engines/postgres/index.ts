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
import { migratePostgresDatabase } from './migrate.js';
import { migrateRoles } from './roles.js';
import { cancelPostgres, cutoverPostgres, describeCutover, liveDatabase } from './online.js';
import { findTool } from './tools.js';
import { startPgSourceGuard } from './source-guard.js';
import { DbferryError } from '../../util/errors.js';
import { crashPoint } from '../../util/crash.js';

export const postgresEngine: Engine = {
  name: 'postgresql',
  discover: discoverPostgres,
  sourceGuard: startPgSourceGuard,
  async check(cfg, opts) {
    const facts = await gatherPgFacts(cfg, opts.env, opts.pgbin, opts.signal);
    const dbs = facts.discovery?.databases.map((d) => d.source.name) ?? [];
    return { outcome: decideMethods(evaluatePostgres(facts, cfg), dbs, cfg.mode, cfg.method), discovery: facts.discovery };
  },
  async prepareTarget(cfg, report, env) {
    if (!cfg.roles.migrate) return ['roles.migrate is false: no roles created'];
    report('creating roles');
    const r = await migrateRoles(cfg);
    crashPoint(env, 'after-roles');
    return [
      `${r.created.length} role(s) created${r.created.length ? `: ${r.created.join(', ')}` : ''}; passwords are not copied (set them with ALTER ROLE ... PASSWORD)`,
      ...(r.existing.length ? [`${r.existing.length} role(s) already on the target, left as they are: ${r.existing.join(', ')}`] : []),
      ...(r.superusersSkipped.length ? [`superuser role(s) not created: ${r.superusersSkipped.join(', ')}`] : []),
      ...r.warnings,
    ];
  },
  async afterDatabases() {
    return [];
  },
  async migrateDatabase(run) {
    const source = await connectPg('source', run.cfg.source, { readOnly: true });
    let major = 0;
    try {
      major = Math.floor(
        Number((await source.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0) / 10000,
      );
    } finally {
      await source.end().catch(() => undefined);
    }
    const tool = await findTool('pg_dump', major, run.env, run.pgbin);
    if (!tool.best)
      throw new DbferryError('TOOL_MISSING', `no pg_dump of major >= ${major} found`, {
        hint: `Install postgresql-client-${major} or pass --pgbin.`,
      });
    await migratePostgresDatabase(run, { pgDump: tool.best.path, jobs: run.jobs });
  },
  async cutover(cfg, store, databases, report, signal, env) {
    const done = await cutoverPostgres(cfg, store, databases, report, signal, env ?? {});
    return done.map(describeCutover);
  },
  async cancel(cfg, store, databases, report) {
    const removed = await cancelPostgres(cfg, store, databases, report);
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
