/** A PostgreSQL database's steps, compiled from the config and what discovery found. Pure. */
import { chain, step, type ResumePolicy, type Step } from '../../steps.js';
import { copyText, createDatabaseText, verifyText, type CompileInput } from '../../step-descriptions.js';
import { keylessPublicationName, replicationObjectName, replicationPrefix } from '../replication-sql.js';

export function pgResumePolicy(method: 'dump' | 'replication'): ResumePolicy {
  return method === 'replication' ? { kind: 'all-or-nothing' } : { kind: 'per-step' };
}

export function compilePgSteps(input: CompileInput): Step[] {
  const { cfg, database: db, method } = input;
  const repl = method !== 'dump';
  const only = method === 'auto' ? ' (if replication)' : '';
  const id = (kind: string): string => `${db}:${kind}`;
  // The real names, from the function the steps use (a database not known yet: its pattern).
  const name = db === '*' ? `${replicationPrefix(cfg.name)}<database>` : replicationObjectName(cfg.name, db);
  const keyless = db === '*' ? `${name}_k` : keylessPublicationName(name);
  const source: Step[] = repl
    ? [
        step(
          db,
          'publication',
          `create publications ${name} (tables with a key) and ${keyless} (inserts of tables without one) on the source${only}`,
          {
            objects: { publication: name, keylessPublication: keyless },
          },
        ),
        step(db, 'slot-snapshot', `create logical replication slot ${name} with an exported snapshot${only}`, {
          after: [id('publication')],
          objects: { slot: name },
        }),
      ]
    : [step(db, 'snapshot', 'export a snapshot of the source that every copy worker and pg_dump imports', { always: true })];
  const snapshot = source[source.length - 1]?.id as string;
  const create = step(db, 'create-database', createDatabaseText(input, 'encoding and collation'), { records: 'created' });
  const counts = cfg.verify === 'none' ? '' : '; row counts compared per table as it is loaded (COPY counts on both sides)';
  const data: Step[] = [
    step(db, 'schema-pre-data', 'create schemas, types, functions and tables (pg_dump --section=pre-data), in batches of tables', {
      after: [create.id, snapshot],
      records: 'schema',
    }),
    step(db, 'copy-data', `${copyText(input)}; each table's keys and indexes built as soon as it is loaded${counts}`, {
      after: [create.id, snapshot],
      alongside: [id('schema-pre-data')],
      estimatedBytes: input.sizeBytes ?? null,
      records: 'data',
    }),
  ];
  const finish = chain([
    step(
      db,
      'schema-post-data',
      'build the remaining post-data objects (triggers, policies, rules, materialized views); foreign keys last',
      {
        after: [id('copy-data')],
        records: 'post-data',
      },
    ),
    step(db, 'sequences', "set sequences to the source's values"),
    step(db, 'large-objects', 'copy large objects'),
    step(db, 'analyze', 'ANALYZE the copied tables not analyzed yet', { records: 'finalized' }),
  ]);
  const checksums = cfg.verify === 'checksums' || cfg.verify === 'auto';
  const verify =
    method !== 'replication' && checksums
      ? [
          step(db, 'verify', `${verifyText(input)}; alongside post-data, on the copy's snapshot${method === 'auto' ? ' (if dump)' : ''}`, {
            after: [id('copy-data')],
            estimatedBytes: input.sizeBytes ?? null,
          }),
        ]
      : [];
  const online = repl
    ? [
        step(
          db,
          'subscription',
          `create subscription ${name} on the target from the slot (copy_data = false): changes stream until cutover${only}`,
          {
            after: [id('analyze')],
            objects: { subscription: name },
            records: 'syncing',
          },
        ),
        step(
          db,
          'cutover',
          `cutover${cfg.cutover ? ' (cutover: true)' : ' (`dbferry cutover`)'}: wait for lag <= maxLag and for the target to apply everything, sync sequences, re-copy the tables without a key or unlogged that changed and sync large objects, verify, then drop subscription, slot and publications${only}`,
          { after: [id('subscription')], runBy: cfg.cutover ? 'apply' : 'cutover' },
        ),
      ]
    : [];
  return [...source, create, ...data, ...finish, ...verify, ...online];
}
