import { describe, expect, it } from 'vitest';
import { escapeField, loadDataSql, RowsToTsv } from '../../src/engines/mysql/copy.js';

describe('MySQL LOAD DATA stream', () => {
  it('escapes backslash, tab, newline, CR and NUL, leaves other bytes', () => {
    expect(escapeField(Buffer.from('a\\b\tc\nd\re\0f☃')).toString()).toBe('a\\\\b\\tc\\nd\\re\\0f☃');
    const plain = Buffer.from('plain');
    expect(escapeField(plain)).toBe(plain);
  });
  it('writes rows as TSV with \\N for NULL', async () => {
    const t = new RowsToTsv(() => undefined);
    const out: Buffer[] = [];
    t.on('data', (b: Buffer) => out.push(b));
    t.write([Buffer.from('1'), null, Buffer.from('x\ty')]);
    t.end([Buffer.from('2'), Buffer.from(''), null]);
    await new Promise((r) => t.on('end', r));
    expect(Buffer.concat(out).toString()).toBe('1\t\\N\tx\\ty\n2\t\t\\N\n');
    expect(t.rows).toBe(2);
  });
  it('quotes identifiers in LOAD DATA', () => {
    expect(loadDataSql('d`b', 'odd `t`', ['a', 'b`c'])).toBe("LOAD DATA LOCAL INFILE 'dbferry' INTO TABLE `d``b`.`odd ``t``` CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`a`, `b``c`)");
  });
});
