/**
 * MySQL/MariaDB offline copy: `npm run bench -- mysql [--rows=1000000]`: dbferry apply against
 * `mysqldump --single-transaction | mysql` (and mydumper/myloader when Debian's package installs),
 * same data, two fresh MariaDB instances on this machine, one run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, myQuery } from '../test/setup/cli.js';
import { startMariadb, stopMariadb, type MariaServer } from '../test/setup/servers.js';
import { ensureDebianTool } from './debian-tool.js';

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.slice(-2000)}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function benchMysql(args: string[]): Promise<string> {
  const n = Number(args.find((a) => a.startsWith('--rows='))?.split('=')[1] ?? 1_000_000);
  const [src, tgt] = await Promise.all([startMariadb({ serverId: 41 }), startMariadb({ serverId: 42 })]);
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-bench-my-'));
  const cli = (s: MariaServer) => ['--no-defaults', '-uroot', '-h127.0.0.1', `-P${s.port}`];
  try {
    await myQuery(
      src,
      `CREATE DATABASE shop; USE shop; CREATE TABLE shop.orders (id int PRIMARY KEY, customer int NOT NULL, total decimal(12,2), note varchar(100), placed datetime, KEY (customer)) ENGINE=InnoDB;
       INSERT INTO shop.orders SELECT seq, seq % 10000, seq / 7, md5(seq), '2024-01-01' + INTERVAL (seq % 1000) MINUTE FROM seq_1_to_${n};
       CREATE TABLE shop.customers (id int PRIMARY KEY, email varchar(100)) ENGINE=InnoDB; INSERT INTO shop.customers SELECT seq, concat('c', seq, '@x') FROM seq_1_to_10000;
       ANALYZE TABLE shop.orders, shop.customers;`,
    );
    const [size] = await myQuery<{ s: string }>(
      src,
      "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS s FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
    );
    const mb = Number(size?.s ?? 0) / 1024 / 1024;
    const reset = async () => myQuery(tgt, 'DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS dbferry');
    const results: { tool: string; s: number }[] = [];
    await reset();
    await myQuery(tgt, 'CREATE DATABASE shop');
    results.push({
      tool: 'mysqldump --single-transaction \\| mysql',
      s: timed('bash', [
        '-o',
        'pipefail',
        '-c',
        `mysqldump ${cli(src).join(' ')} --single-transaction --quick shop | mysql ${cli(tgt).join(' ')} shop`,
      ]),
    });
    if (ensureDebianTool('mydumper')) {
      await reset();
      const out = join(dir, 'dump');
      results.push({
        tool: 'mydumper -t 2 + myloader -t 2',
        s: timed('bash', [
          '-o',
          'pipefail',
          '-c',
          `mydumper -h 127.0.0.1 -P ${src.port} -u root -B shop -t 2 -o ${out} && myloader -h 127.0.0.1 -P ${tgt.port} -u root -d ${out} -t 2 -o`,
        ]),
      });
    }
    await reset();
    const file = join(dir, 'm.yaml');
    writeFileSync(
      file,
      `name: bench-mysql\nengine: mysql\nsource:\n  host: 127.0.0.1\n  port: ${src.port}\n  username: root\n  ssl: disable\ntarget:\n  host: 127.0.0.1\n  port: ${tgt.port}\n  username: root\n  ssl: disable\ndatabases:\n  include: [shop]\ncopy:\n  jobs: 2\n`,
    );
    const ferry = timed(process.execPath, [BIN, 'apply', file, '--yes', '--quiet'], { ...process.env, CI: 'true' });
    const [cnt] = await myQuery<{ n: number }>(tgt, 'SELECT COUNT(*) AS n FROM shop.orders');
    if (Number(cnt?.n) !== n) throw new Error(`dbferry copied ${cnt?.n} rows, expected ${n}`);
    results.push({ tool: 'dbferry apply', s: ferry });
    const rows = ['| tool | seconds | MB/s | dbferry speed-up |', '|---|---:|---:|---:|'];
    for (const r of results)
      rows.push(
        `| ${r.tool} | ${r.s.toFixed(2)} | ${(mb / r.s).toFixed(1)} | ${r.tool === 'dbferry apply' ? '' : `${(r.s / ferry).toFixed(2)}×`} |`,
      );
    return `MariaDB 10.11 -> MariaDB 10.11, ${n.toLocaleString('en')} orders + 10,000 customers (${mb.toFixed(0)} MB)\n\n${rows.join('\n')}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([stopMariadb(src), stopMariadb(tgt)]);
  }
}
