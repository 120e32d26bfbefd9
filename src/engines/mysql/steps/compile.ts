/** A MySQL/MariaDB database's steps, and the migration's own (the one replica), compiled from the config. Pure. */
import type { MigrationConfig } from '../../../config/types.js';
import { copyText, createDatabaseText, verifyText, type CompileInput } from '../../step-descriptions.js';
import { step, type ResumePolicy, type Step } from '../../steps.js';

/**
 * A MySQL database's copy belongs to one snapshot that cannot be taken again: an interrupted one
 * starts over; a replicated one also until the replica started (all of them share its snapshot).
 */
export function myResumePolicy(method: 'dump' | 'replication'): ResumePolicy {
  return method === 'replication' ? { kind: 'all-or-nothing', until: 'replica' } : { kind: 'all-or-nothing' };
}

export function compileMysqlSteps(input: CompileInput): Step[] {
  const { cfg, database: db, method } = input;
  const id = (kind: string): string => `${db}:${kind}`;
  const only = method === 'auto' ? ' (if dump)' : '';
  const checksums = method !== 'replication' && (cfg.verify === 'checksums' || cfg.verify === 'auto');
  const counts = cfg.verify === 'none' ? '' : '; row counts compared per table as it is loaded';
  const snapshotText =
    method === 'dump'
      ? 'take one consistent snapshot for every copy worker (FLUSH TABLES WITH READ LOCK held only while they start)'
      : `take one consistent snapshot for every copy worker and record its GTID position (one snapshot for every replicated database)${method === 'auto' ? ' (if replication)' : ''}`;
  return [
    step(db, 'create-database', createDatabaseText(input, 'character set and collation'), { records: 'created' }),
    step(db, 'snapshot', snapshotText),
    step(db, 'schema-pre-data', 'create tables from SHOW CREATE TABLE (foreign key checks off)', {
      after: [id('create-database'), id('snapshot')],
      records: 'schema',
    }),
    step(db, 'copy-data', `${copyText(input)}${counts}`, {
      after: [id('schema-pre-data')],
      estimatedBytes: input.sizeBytes ?? null,
      records: 'data',
    }),
    step(db, 'schema-objects', 'create views (in dependency order), routines, triggers and events', {
      after: [id('copy-data')],
      records: method === 'replication' ? 'copied' : 'post-data',
    }),
    ...(checksums
      ? [step(db, 'verify', `${verifyText(input)}${only}`, { after: [id('schema-objects')], estimatedBytes: input.sizeBytes ?? null })]
      : []),
  ];
}

/** After every database: the one replica of the replicated databases, then (cutover: true) the cutover. */
export function mysqlMigrationSteps(cfg: MigrationConfig, replicated: string[]): Step[] {
  if (replicated.length === 0) return [];
  const undecided = replicated.includes('*');
  const only = undecided ? ' (if replication)' : '';
  const what = undecided ? 'the replicated databases' : replicated.join(', ');
  const after = undecided ? [] : replicated.map((d) => `${d}:schema-objects`);
  return [
    step(
      null,
      'replica',
      `replicate ${what} from the snapshot's GTID position with one replica on the target (CHANGE MASTER TO ... MASTER_USE_GTID)${only}`,
      { after },
    ),
    step(
      null,
      'cutover',
      `cutover${cfg.cutover ? ' (cutover: true)' : ' (`dbferry cutover`)'}: wait for lag <= maxLag, stop and remove replication, verify row counts${only}`,
      {
        after: ['replica'],
        runBy: cfg.cutover ? 'apply' : 'cutover',
      },
    ),
  ];
}
