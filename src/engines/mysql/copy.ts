/**
 * Streaming one table from MySQL/MariaDB to another with LOAD DATA LOCAL INFILE: rows come as raw
 * bytes (character_set_results = NULL: no conversion), are escaped into tab-separated lines and
 * loaded with CHARACTER SET binary, so every byte arrives as it was.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MyConnection } from './connect.js';
import { qi } from './sql.js';

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

/** Rows (arrays of Buffer | null) -> TSV bytes, in chunks of about 256 kB. */
export class RowsToTsv extends Transform {
  rows = 0;
  bytes = 0;
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly onBytes: (n: number) => void) {
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
    if (this.size >= 256 * 1024) this.flushParts();
    cb();
  }
  override _flush(cb: TransformCallback): void {
    this.flushParts();
    cb();
  }
  private flushParts(): void {
    if (this.size === 0) return;
    const chunk = Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    this.push(chunk);
  }
}

export function loadDataSql(db: string, table: string, columns: string[]): string {
  return `LOAD DATA LOCAL INFILE 'dbferry' INTO TABLE ${qi(db)}.${qi(table)} CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns.map(qi).join(', ')})`;
}

/** Streams `SELECT cols FROM db.table` (on the source worker's snapshot) into the target table. */
export async function copyMysqlTable(src: MyConnection, tgt: MyConnection, db: string, table: string, columns: string[], onBytes: (n: number) => void): Promise<{ rows: number; bytes: number }> {
  const select = `SELECT ${columns.map(qi).join(', ')} FROM ${qi(db)}.${qi(table)}`;
  const raw = (src as unknown as { connection: { query(o: object): { stream(o?: object): Readable } } }).connection;
  const rows = raw.query({ sql: select, rowsAsArray: true, typeCast: (field: { buffer(): Buffer | null }) => field.buffer() }).stream({ highWaterMark: 512 });
  const tsv = new RowsToTsv(onBytes);
  const load = tgt.query({ sql: loadDataSql(db, table, columns), infileStreamFactory: () => tsv } as never);
  await Promise.all([pipeline(rows, tsv).catch((e: unknown) => {
    tsv.destroy(e as Error);
    throw e;
  }), load]);
  return { rows: tsv.rows, bytes: tsv.bytes };
}
