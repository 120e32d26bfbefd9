/** MySQL / MariaDB checks of one database: size, empty target, and what its tables contain. Pure. */
import { formatBytes } from '../../../util/sizes.js';
import { fail, ok, targetEmptyCheck, warn, type CheckResult } from '../../checks.js';
import { transferForm } from '../dialect.js';
import type { MyDbFacts } from '../facts.js';
import { list, type MyDbCheckContext } from './context.js';

/** A database check that needs the database's source facts. */
type WithFacts = MyDbCheckContext & { facts: MyDbFacts };

/** `my.db.size`: reported for every database. */
export function databaseSizeChecks({ d, D }: MyDbCheckContext): CheckResult[] {
  return [
    ok(
      'my.db.size',
      `${formatBytes(d.source.sizeBytes)}, ${d.source.tables} tables, ~${d.source.rowEstimate} rows, ${d.source.encoding ?? '?'} / ${d.source.collation ?? '?'}`,
      D,
    ),
  ];
}

/** `my.db.target_empty`: absent or empty on the target, unless this migration started it or overwrites it. */
export function targetDatabaseChecks({ f, cfg, d, name }: MyDbCheckContext): CheckResult[] {
  const resumePhase = f.discovery?.resumable[name];
  return [
    targetEmptyCheck(
      'my',
      { name, exists: d.target.exists, userObjects: d.target.userObjects },
      cfg.databases.overwrite,
      resumePhase ? { phase: resumePhase, what: 'apply copies it again' } : undefined,
    ),
  ];
}

/** `my.db.engines`: InnoDB tables only, which the consistent snapshot covers. */
export function storageEngineChecks({ facts, D }: WithFacts): CheckResult[] {
  if (facts.nonInnodb.length)
    return [
      warn(
        'my.db.engines',
        `non-InnoDB table(s) are not covered by the consistent snapshot: ${list(facts.nonInnodb)}`,
        'ALTER TABLE ... ENGINE=InnoDB, or keep them unchanged during the copy.',
        D,
      ),
    ];
  return [ok('my.db.engines', 'every table is InnoDB', D)];
}

/** `my.db.column_types`: every column type round-trips (some through their text form). */
export function columnTypeChecks({ facts, src, D }: WithFacts): CheckResult[] {
  if (!src) return [];
  const unsupported = facts.unusualColumns
    .filter((c) => transferForm(src.flavor, c.type) === null)
    .map((c) => `${c.table}.${c.column} (${c.type})`);
  const converted = facts.unusualColumns
    .filter((c) => transferForm(src.flavor, c.type) === 'text')
    .map((c) => `${c.table}.${c.column} (${c.type})`);
  if (unsupported.length)
    return [
      fail(
        'my.db.column_types',
        `column(s) of a type dbferry cannot copy exactly: ${list(unsupported)}`,
        'Exclude their tables with tables.skip, or convert the columns to a supported type.',
        D,
      ),
    ];
  return [
    ok(
      'my.db.column_types',
      `every column type round-trips${converted.length ? `; loaded through their text form: ${list(converted)}` : ''}`,
      D,
    ),
  ];
}

/** `my.db.primary_keys`: tables without a key replicate slowly and are copied whole. */
export function primaryKeyChecks({ facts, online, D }: WithFacts): CheckResult[] {
  if (facts.noKey.length)
    return [
      warn(
        'my.db.primary_keys',
        `table(s) without primary or unique key: ${list(facts.noKey)}${online ? '; row-based replication of their updates is slow and the copy cannot be split' : '; the copy cannot be split'}`,
        'Add primary keys.',
        D,
      ),
    ];
  return [ok('my.db.primary_keys', 'every table has a primary or unique key', D)];
}

/** `user`@`host` as mysql.user lists it: user@host. */
const unquoteAccount = (x: string): string => x.replace(/`/g, '');

/** `my.db.definers`: the DEFINER accounts of views, routines, triggers and events exist on the target. */
export function definerChecks({ facts, tgt, D }: WithFacts): CheckResult[] {
  if (!tgt || !facts.definers.length) return [];
  if (tgt.accounts === null)
    return [
      warn(
        'my.db.definers',
        `DEFINER accounts could not be checked on the target (no access to mysql.user): ${list(facts.definers)}`,
        'Make sure these accounts exist on the target.',
        D,
      ),
    ];
  const missing = facts.definers.filter((x) => !tgt.accounts?.includes(unquoteAccount(x)));
  if (missing.length)
    return [
      warn(
        'my.db.definers',
        `DEFINER account(s) missing on the target: ${list(missing)}; their views, routines, triggers and events would fail`,
        `CREATE USER ${missing[0]} ... on the target first.`,
        D,
      ),
    ];
  return [ok('my.db.definers', `every DEFINER exists on the target (${list(facts.definers)})`, D)];
}

/** Every check of a database's contents, in report order (none without its facts). */
export function databaseContentChecks(c: MyDbCheckContext): CheckResult[] {
  const { facts } = c;
  if (!facts) return [];
  const withFacts: WithFacts = { ...c, facts };
  return [...storageEngineChecks(withFacts), ...columnTypeChecks(withFacts), ...primaryKeyChecks(withFacts), ...definerChecks(withFacts)];
}
