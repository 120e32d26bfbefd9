/** MySQL / MariaDB verify: CHECKSUM TABLE in full, or row hashes of sampled key ranges (verify-policy). */
import type { VerifyMode } from '../../config/types.js';
import { rangesCondition, sampleRanges, tableVerify } from '../verify-policy.js';
import { rows, type MyConnection } from './connect.js';
import { qi } from './sql.js';

export interface VerifiedTable {
  name: string;
  bytes: number;
  columns: { name: string }[];
  /** Single-column integer primary key, or null. */
  intKey: string | null;
}

/** Count and an order-independent sum of 60-bit row hashes over the rows matching `where`. */
export function sampledChecksumSql(db: string, t: VerifiedTable, where: string): string {
  const values = t.columns.map((c) => `IFNULL(HEX(CAST(${qi(c.name)} AS BINARY)), '~')`).join(', ');
  const hash = `CAST(CONV(SUBSTR(MD5(CONCAT_WS('|', ${values || "''"})), 1, 15), 16, 10) AS UNSIGNED)`;
  return `SELECT COUNT(*) AS n, CAST(COALESCE(SUM(${hash}), 0) AS CHAR) AS h FROM ${qi(db)}.${qi(t.name)} WHERE ${where}`;
}

/** Compares each table on both sides; returns "table (why)" for every mismatch. Sessions must use the same time zone. */
export async function verifyMysqlTables(
  src: MyConnection,
  tgt: MyConnection,
  db: string,
  tables: VerifiedTable[],
  opts: { mode: VerifyMode; sampleAbove: number },
): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) {
    const kind = tableVerify(opts.mode, t, opts.sampleAbove);
    if (kind === 'full') {
      const q = `CHECKSUM TABLE ${qi(db)}.${qi(t.name)} EXTENDED`;
      const [[a], [b]] = await Promise.all([rows<{ Checksum: string | null }>(src, q), rows<{ Checksum: string | null }>(tgt, q)]);
      if (String(a?.Checksum) !== String(b?.Checksum)) out.push(`${t.name} (checksum differs)`);
    } else if (kind === 'sample' && t.intKey) {
      const key = qi(t.intKey);
      const [span] = await rows<{ lo: string | null; hi: string | null }>(
        src,
        `SELECT CAST(MIN(${key}) AS CHAR) AS lo, CAST(MAX(${key}) AS CHAR) AS hi FROM ${qi(db)}.${qi(t.name)}`,
      );
      if (!span?.lo || !span.hi) continue;
      const ranges = sampleRanges(BigInt(span.lo), BigInt(span.hi), opts.sampleAbove / Math.max(1, t.bytes));
      const q = sampledChecksumSql(db, t, rangesCondition(key, ranges));
      const [[a], [b]] = await Promise.all([rows<{ n: number; h: string }>(src, q), rows<{ n: number; h: string }>(tgt, q)]);
      if (String(a?.n) !== String(b?.n) || a?.h !== b?.h)
        out.push(`${t.name} (checksum of the rows in ${ranges.length} sampled key ranges differs)`);
    }
  }
  return out;
}
