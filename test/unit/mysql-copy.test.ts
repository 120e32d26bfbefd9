import { describe, expect, it } from 'vitest';
import { transferForm } from '../../src/engines/mysql/dialect.js';
import { escapeField, keyRanges, loadDataSql, RowsToTsv, selectSql } from '../../src/engines/mysql/copy.js';

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
  it('splits an integer key into ranges that cover everything, ends open', () => {
    const r = keyRanges('id', 1n, 100n, 4);
    expect(r).toEqual([
      { key: 'id', from: null, to: '26' },
      { key: 'id', from: '26', to: '51' },
      { key: 'id', from: '51', to: '76' },
      { key: 'id', from: '76', to: null },
    ]);
    expect(keyRanges('id', 5n, 5n, 4)).toEqual([{ key: 'id', from: null, to: null }]);
    expect(selectSql('d', 't', ['id', 'v'], r[1])).toBe('SELECT `id`, `v` FROM `d`.`t` WHERE `id` >= 26 AND `id` < 51');
  });
  it('quotes identifiers in LOAD DATA', () => {
    expect(
      loadDataSql('d`b', 'odd `t`', [
        { name: 'a', form: 'raw' },
        { name: 'b`c', form: 'raw' },
      ]),
    ).toBe(
      "LOAD DATA LOCAL INFILE 'dbferry' INTO TABLE `d``b`.`odd ``t``` CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`a`, `b``c`)",
    );
  });
});

describe('transfer forms', () => {
  it('text-form columns are loaded through a variable converted to utf8mb4', () => {
    expect(
      loadDataSql('d', 't', [
        { name: 'id', form: 'raw' },
        { name: 'u', form: 'text' },
        { name: 'j', form: 'text' },
      ]),
    ).toBe(
      "LOAD DATA LOCAL INFILE 'dbferry' INTO TABLE `d`.`t` CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`id`, @dbferry_1, @dbferry_2) SET `u` = CONVERT(@dbferry_1 USING utf8mb4), `j` = CONVERT(@dbferry_2 USING utf8mb4)",
    );
  });

  it('picks raw bytes where LOAD DATA takes them, text where the column refuses binary, nothing for unknown types', () => {
    for (const t of [
      'int',
      'BIGINT',
      'decimal',
      'double',
      'bit',
      'varchar',
      'longblob',
      'enum',
      'set',
      'timestamp',
      'time',
      'year',
      'geometry',
      'geomcollection',
      'point',
    ]) {
      expect(transferForm('mariadb', t)).toBe('raw');
      expect(transferForm('mysql', t)).toBe('raw');
    }
    expect(transferForm('mariadb', 'uuid')).toBe('text');
    expect(transferForm('mariadb', 'inet6')).toBe('text');
    expect(transferForm('mariadb', 'inet4')).toBe('text');
    // MySQL 8 refuses a JSON value from a binary string; MariaDB's JSON is LONGTEXT.
    expect(transferForm('mysql', 'json')).toBe('text');
    expect(transferForm('mariadb', 'json')).toBe('raw');
    expect(transferForm('mysql', 'uuid')).toBeNull();
    expect(transferForm('mariadb', 'vector')).toBeNull();
  });
});
