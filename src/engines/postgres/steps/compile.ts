/** A PostgreSQL database's steps, compiled from the config and what discovery found. Pure. */
import { chain, step, type ResumePolicy, type Step } from '../../steps.js';
import { copyText, createDatabaseText, verifyText, type CompileInput } from '../../step-descriptions.js';
import { keylessPublicationName, replicationObjectName, replicationPrefix } from '../replication-sql.js';

export function pgResumePolicy(method: 'dump' | 'replication'): ResumePolicy {
  // A database stopped during schema-pre-data starts over: its table units and batches interleave with the copy.
  return method === 'replication' ? { kind: 'all-or-nothing' } : { kind: 'per-step', startOverUntil: 'schema-pre-data' };
}

/** Objects of this migration on the source: a snapshot (dump), or a publication and a slot with its snapshot (replication). */
function sourceSteps(input: CompileInput, names: { name: string; keyless: string }): Step[] {
  const { database: db, method } = input;
  if (method === 'dump')
    return [step(db, 'snapshot', 'export a snapshot of the source that every copy worker and pg_dump imports', { always: true })];
  const only = method === 'auto' ? ' (if replication)' : '';
  const { name, keyless } = names;
  return [
    step(
      db,
      'publication',
      `create publications ${name} (tables with a key) and ${keyless} (inserts of tables without one) on the source${only}`,
      {
        objects: { publication: name, keylessPublication: keyless },
      },
    ),
    step(db, 'slot-snapshot', `create logical replication slot ${name} with an exported snapshot${only}`, {
      after: [`${db}:publication`],
      objects: { slot: name },
    }),
  ];
}

/** Online: the subscription, then the cutover (by `dbferry cutover`, or by apply with cutover: true). */
function onlineSteps(input: CompileInput, name: string): Step[] {
  const { cfg, database: db, method } = input;
  if (method === 'dump') return [];
  const only = method === 'auto' ? ' (if replication)' : '';
  return [
    step(
      db,
      'subscription',
      `create subscription ${name} on the target from the slot (copy_data = false): changes stream until cutover${only}`,
      {
        after: [`${db}:analyze`],
        objects: { subscription: name },
        records: 'syncing',
      },
    ),
    step(
      db,
      'cutover',
      `cutover${cfg.cutover ? ' (cutover: true)' : ' (`dbferry cutover`)'}: wait for lag <= maxLag and for the target to apply everything, sync sequences, re-copy the tables without a key or unlogged that changed and sync large objects, verify, then drop subscription, slot and publications${only}`,
      { after: [`${db}:subscription`], runBy: cfg.cutover ? 'apply' : 'cutover' },
    ),
  ];
}

export function compilePgSteps(input: CompileInput): Step[] {
  const { cfg, database: db, method } = input;
  const id = (kind: string): string => `${db}:${kind}`;
  // The real names, from the function the steps use (a database not known yet: its pattern).
  const name = db === '*' ? `${replicationPrefix(cfg.name)}<database>` : replicationObjectName(cfg.name, db);
  const source = sourceSteps(input, { name, keyless: db === '*' ? `${name}_k` : keylessPublicationName(name) });
  const snapshot = source[source.length - 1]?.id as string;
  // After the source's steps, as one chain: a run killed there never leaves a CREATE DATABASE in flight.
  const create = step(db, 'create-database', createDatabaseText(input, 'encoding and collation'), {
    records: 'created',
    after: [snapshot],
  });
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
        // The snapshot too: with copy-data and schema-pre-data recorded by an earlier run, nothing else orders them.
        after: [id('copy-data'), id('schema-pre-data'), snapshot],
        records: 'post-data',
      },
    ),
    step(db, 'sequences', "set sequences to the source's values"),
    step(db, 'large-objects', 'copy large objects'),
    step(db, 'analyze', 'ANALYZE the copied tables not analyzed yet', { records: 'finalized' }),
  ]);
  const checksums = method !== 'replication' && (cfg.verify === 'checksums' || cfg.verify === 'auto');
  const verify = checksums
    ? [
        step(db, 'verify', `${verifyText(input)}; alongside post-data, on the copy's snapshot${method === 'auto' ? ' (if dump)' : ''}`, {
          after: [id('copy-data'), snapshot],
          estimatedBytes: input.sizeBytes ?? null,
        }),
      ]
    : [];
  return [...source, create, ...data, ...finish, ...verify, ...onlineSteps(input, name)];
}
