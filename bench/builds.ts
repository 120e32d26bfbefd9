/**
 * Two dbferry builds, A/B: `npm run bench -- builds --before=<checkout> [--scale=20] [--runs=5]`
 * migrates the copy cases (pgbench, 1,000 small tables) with the dbferry of another checkout
 * (built: its dist/) and with this one, alternating, on servers with durable settings (fsync and
 * full_page_writes on; synchronous_commit off so neither waits on commits), and prints the
 * medians with their CPU columns. For "no slower" checks of a refactoring.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BIN, pgQuery } from '../test/setup/cli.js';
import { startPostgres, stopPostgres } from '../test/setup/servers.js';
import { cases, DURABLE, median, PGBIN, timed, type Servers, type Timed } from './copy.js';

export async function benchBuilds(args: string[]): Promise<string> {
  const before = args.find((a) => a.startsWith('--before='))?.split('=')[1];
  if (!before) throw new Error('builds needs --before=<checkout of the other build, with dist/ built>');
  const scale = Number(args.find((a) => a.startsWith('--scale='))?.split('=')[1] ?? 20);
  const runs = Number(args.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 5);
  const bins = { before: join(resolve(before), 'bin', 'dbferry.js'), after: BIN };
  const [source, target] = await Promise.all([
    startPostgres({ major: 15, settings: DURABLE }),
    startPostgres({ major: 15, settings: DURABLE }),
  ]);
  const servers: Servers = { source, target };
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-bench-'));
  const rows = ['| case | build | median s | runs (s) | CPU s: source / target / tool (medians) |', '|---|---|---:|---|---:|'];
  try {
    for (const [i, c] of cases([scale]).slice(0, 2).entries()) {
      const db = `ab${i}`;
      await pgQuery(source, `CREATE DATABASE ${db}`);
      await c.build(source, db);
      await pgQuery(source, 'CHECKPOINT');
      const results: Record<'before' | 'after', Timed[]> = { before: [], after: [] };
      for (let r = 0; r < runs * 2; r++) {
        const which = r % 2 === 0 ? 'before' : 'after';
        await pgQuery(target, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        await pgQuery(target, 'DROP SCHEMA IF EXISTS dbferry CASCADE');
        await pgQuery(target, 'CHECKPOINT');
        const cfgFile = join(dir, `m${i}-${r}.yaml`);
        writeFileSync(
          cfgFile,
          `version: 1\nname: ab-${i}-${r}\nsource:\n  uri: postgres://postgres@127.0.0.1:${source.port}/postgres?sslmode=disable\ntarget:\n  uri: postgres://postgres@127.0.0.1:${target.port}/postgres?sslmode=disable\ndatabases:\n  include: [${db}]\nroles:\n  migrate: false\n`,
        );
        const env = { ...process.env, CI: 'true', PATH: `${PGBIN}:${process.env.PATH}` };
        results[which].push(await timed(servers, process.execPath, [bins[which], 'apply', cfgFile, '--yes', '--quiet'], env));
      }
      for (const which of ['before', 'after'] as const) {
        const t = results[which];
        const cpu = ['source', 'target', 'tool'].map((k) => median(t.map((x) => x.cpu[k as 'source']))).map((x) => x.toFixed(1));
        rows.push(
          `| ${c.name} | ${which} | ${median(t.map((x) => x.seconds)).toFixed(2)} | ${t.map((x) => x.seconds.toFixed(2)).join(', ')} | ${cpu.join(' / ')} |`,
        );
      }
      await pgQuery(source, `DROP DATABASE ${db}`);
      await pgQuery(target, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([stopPostgres(source), stopPostgres(target)]);
  }
  return rows.join('\n');
}
