/**
 * Cost of the pre-migration check and discovery: a database with 2,000 tables in 10 schemas
 * against one with 10 tables. Counts the statements the check sends to the source (from the
 * server log, log_statement = all) and times `dbferry check`.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, pgQuery, tempDir } from '../test/setup/cli.js';
import { startPostgres, stopPostgres, type PgServer } from '../test/setup/servers.js';

async function makeDb(s: PgServer, name: string, schemas: number, perSchema: number): Promise<void> {
  await pgQuery(s, `CREATE DATABASE ${name}`);
  const parts: string[] = [];
  for (let i = 0; i < schemas; i++) {
    parts.push(`CREATE SCHEMA s${i};`);
    for (let j = 0; j < perSchema; j++) parts.push(`CREATE TABLE s${i}.t${j} (id int PRIMARY KEY, v text, n numeric, at timestamptz);`);
  }
  await pgQuery(s, parts.join('\n'), name);
}

function runCheck(dir: string, source: PgServer, target: PgServer, db: string): { seconds: number; statements: number; code: number } {
  const file = join(dir, `${db}.yaml`);
  writeFileSync(
    file,
    `version: 1\nname: bench-${db.replace(/_/g, '-')}\nmode: online\nsource:\n  host: 127.0.0.1\n  port: ${source.port}\n  ssl: disable\n  username: postgres\ntarget:\n  host: 127.0.0.1\n  port: ${target.port}\n  ssl: disable\n  username: postgres\ndatabases:\n  include: [${db}]\nroles:\n  migrate: false\n`,
  );
  const log = join(source.dir, 'log');
  const before = statSync(log).size;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'check', file, '--json'], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const added = readFileSync(log, 'utf8').slice(before);
  const statements = (added.match(/LOG: {2}statement: /g) ?? []).length;
  return { seconds, statements, code: r.status ?? -1 };
}

export async function benchCheck(): Promise<string> {
  const [source, target] = await Promise.all([
    startPostgres({ major: 15, settings: { log_statement: 'all' } }),
    startPostgres({ major: 17 }),
  ]);
  try {
    await makeDb(source, 'small_db', 1, 10);
    await makeDb(source, 'big_db', 10, 200);
    const dir = tempDir('dbferry-bench-');
    runCheck(dir, source, target, 'small_db'); // warm-up
    const small = runCheck(dir, source, target, 'small_db');
    const big = runCheck(dir, source, target, 'big_db');
    const rows = [
      '| database | tables | statements sent to the source | `dbferry check` seconds |',
      '|---|---:|---:|---:|',
      `| small_db | 10 | ${small.statements} | ${small.seconds.toFixed(2)} |`,
      `| big_db | 2,000 (10 schemas) | ${big.statements} | ${big.seconds.toFixed(2)} |`,
    ];
    return rows.join('\n');
  } finally {
    await Promise.all([stopPostgres(source), stopPostgres(target)]);
  }
}
