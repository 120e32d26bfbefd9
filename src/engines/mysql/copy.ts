/**
 * Streaming one table from MySQL/MariaDB to another with LOAD DATA LOCAL INFILE: rows come as raw
 * bytes (character_set_results = NULL: no conversion), are escaped into tab-separated lines and
 * loaded with CHARACTER SET binary, so every byte arrives as it was.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MyConnection } from './connect.js';
import { qi } from './sql.js';
import type { TransferForm } from './dialect.js';
import type { RateLimiter } from '../../util/rate-limit.js';
import { DbferryError } from '../../util/errors.js';
import { labelOf, tagServer } from '../server-error.js';

const TAB = 0x09;
const NL = 0x0a;
const BS = 0x5c;
const NUL = 0x00;
const CR = 0x0d;
const NULL_MARK = Buffer.from('\\N');

/** Escapes one value for LOAD DATA (ESCAPED BY '\\'): backslash, tab, newline, CR and NUL. Pure. */
export function escapeField(b: Buffer): Buffer {
  let extra = 0;
  for (const c of b) if (c === BS || c === TAB || c === NL || c === CR || c === NUL) extra++;
  if (extra === 0) return b;
  const out = Buffer.allocUnsafe(b.length + extra);
  let j = 0;
  for (const c of b) {
    if (c === BS || c === TAB || c === NL || c === CR || c === NUL) {
      out[j++] = BS;
      out[j++] = c === TAB ? 0x74 : c === NL ? 0x6e : c === CR ? 0x72 : c === NUL ? 0x30 : BS;
    } else out[j++] = c;
  }
  return out;
}

/** Rows (arrays of Buffer | null) -> TSV bytes, in chunks of about 256 kB (each first waits for copy.maxRate). */
export class RowsToTsv extends Transform {
  rows = 0;
  bytes = 0;
  private parts: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly onBytes: (n: number) => void,
    private readonly limiter?: RateLimiter,
  ) {
    super({ writableObjectMode: true });
  }
  override _transform(row: (Buffer | null)[], _e: BufferEncoding, cb: TransformCallback): void {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      const f = v === null || v === undefined ? NULL_MARK : escapeField(v);
      this.parts.push(f);
      this.parts.push(Buffer.from([i === row.length - 1 ? NL : TAB]));
      this.size += f.length + 1;
    }
    this.rows++;
    if (this.size >= 256 * 1024) this.flushParts(cb);
    else cb();
  }
  override _flush(cb: TransformCallback): void {
    this.flushParts(cb);
  }
  private flushParts(cb: TransformCallback): void {
    if (this.size === 0) return cb();
    const chunk = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    const pass = (): void => {
      this.bytes += chunk.length;
      this.onBytes(chunk.length);
      this.push(chunk);
      cb();
    };
    if (this.limiter) this.limiter.take(chunk.length).then(pass, cb);
    else pass();
  }
}

/** A column of the copy and how its values travel (see `transferForm`). */
export interface CopyColumn {
  name: string;
  form: TransferForm;
}

/** LOAD DATA for the columns in order; text-form columns go through a variable and CONVERT. Pure. */
export function loadDataSql(db: string, table: string, columns: CopyColumn[]): string {
  const targets = columns.map((c, i) => (c.form === 'text' ? `@dbferry_${i}` : qi(c.name)));
  const sets = columns.flatMap((c, i) => (c.form === 'text' ? [`${qi(c.name)} = CONVERT(@dbferry_${i} USING utf8mb4)`] : []));
  return `LOAD DATA LOCAL INFILE 'dbferry' INTO TABLE ${qi(db)}.${qi(table)} CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${targets.join(', ')})${sets.length ? ` SET ${sets.join(', ')}` : ''}`;
}

/** A key range of a table split for parallel copy: `from <= key < to` (either end open). */
export interface KeyRange {
  key: string;
  from: string | null;
  to: string | null;
}

export function selectSql(db: string, table: string, columns: string[], range?: KeyRange): string {
  const base = `SELECT ${columns.map(qi).join(', ')} FROM ${qi(db)}.${qi(table)}`;
  if (!range) return base;
  const where = [
    range.from !== null ? `${qi(range.key)} >= ${range.from}` : '',
    range.to !== null ? `${qi(range.key)} < ${range.to}` : '',
  ].filter(Boolean);
  return where.length ? `${base} WHERE ${where.join(' AND ')}` : base;
}

/** Splits [min, max] of an integer key into `parts` ranges covering everything (ends open). Pure. */
export function keyRanges(key: string, min: bigint, max: bigint, parts: number): KeyRange[] {
  if (parts <= 1 || max <= min) return [{ key, from: null, to: null }];
  const step = (max - min) / BigInt(parts) + 1n;
  const out: KeyRange[] = [];
  for (let i = 0; i < parts; i++) {
    const lo = min + step * BigInt(i);
    if (lo > max) break;
    const hi = lo + step;
    out.push({ key, from: i === 0 ? null : String(lo), to: hi > max ? null : String(hi) });
  }
  const last = out[out.length - 1];
  if (last) last.to = null;
  return out;
}

/** Rejects when the connection reports a fatal error (tagged with its server); stop() detaches. */
function connectionLost(c: MyConnection): { failed: Promise<never>; stop: () => void } {
  const emitter = (c as unknown as { connection: NodeJS.EventEmitter }).connection;
  let handler: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    handler = (e: unknown) => reject(tagServer(e, labelOf(c)));
    emitter.on('error', handler);
  });
  failed.catch(() => undefined);
  return { failed, stop: () => emitter.off('error', handler) };
}

async function failOnWarnings(tgt: MyConnection, db: string, table: string): Promise<never> {
  const [warnings] = (await tgt.query('SHOW WARNINGS LIMIT 5')) as unknown as [{ Level: string; Code: number; Message: string }[]];
  const detail = warnings.map((w) => `${w.Level} ${w.Code}: ${w.Message}`).join('; ');
  throw new DbferryError(
    'MIGRATION_FAILED',
    `copying ${db}.${table} changed values on the way: the target reported ${detail || 'warnings'}`,
    {
      hint: 'Nothing is wrong with the source. Report the column type to dbferry; exclude the table with tables.skip meanwhile.',
    },
  );
}

/** Streams `SELECT cols FROM db.table [range]` (on the source worker's snapshot) into the target table. */
export async function copyMysqlTable(
  src: MyConnection,
  tgt: MyConnection,
  db: string,
  table: string,
  columns: CopyColumn[],
  onBytes: (n: number) => void,
  range?: KeyRange,
  limiter?: RateLimiter,
): Promise<{ rows: number; bytes: number }> {
  const select = selectSql(
    db,
    table,
    columns.map((c) => c.name),
    range,
  );
  const raw = (src as unknown as { connection: { query(o: object): { stream(o?: object): Readable } } }).connection;
  const rows = raw
    .query({ sql: select, rowsAsArray: true, typeCast: (field: { buffer(): Buffer | null }) => field.buffer() })
    .stream({ highWaterMark: 512 });
  rows.on('error', (e: unknown) => tagServer(e, labelOf(src)));
  const tsv = new RowsToTsv(onBytes, limiter);
  const load = tgt.query({ sql: loadDataSql(db, table, columns), infileStreamFactory: () => tsv } as never);
  // mysql2 settles neither a row stream nor a LOAD DATA whose connection dies (KILL, restart):
  // a lost connection on either side fails the copy at once.
  const lost = [connectionLost(src), connectionLost(tgt)];
  try {
    const [, [loaded]] = (await Promise.race([Promise.all([pipeline(rows, tsv), load]), ...lost.map((l) => l.failed)])) as unknown as [
      unknown,
      [{ warningStatus?: number }],
    ];
    // LOAD DATA LOCAL turns every conversion error into a warning and loads a zero or NULL
    // instead: any warning means a value did not arrive as it was.
    if ((loaded?.warningStatus ?? 0) > 0) await failOnWarnings(tgt, db, table);
  } catch (e) {
    // Destroyed with the error, so a LOAD DATA still running never takes the cut as the end of its file.
    rows.destroy();
    tsv.destroy(e as Error);
    throw e;
  } finally {
    for (const l of lost) l.stop();
  }
  return { rows: tsv.rows, bytes: tsv.bytes };
}
