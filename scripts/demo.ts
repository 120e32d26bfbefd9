/**
 * `npm run demo`: starts two embedded PostgreSQL servers (15 as source, 17 as target), loads a
 * generated sample database of a few hundred MB into the source, and runs validate, check, plan,
 * apply and status against them. Everything is stopped and removed at the end. Pass --keep to
 * leave the servers running; DEMO_ROWS sets the number of orders (default 1,500,000).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, pgQuery } from '../test/setup/cli.js';
import { startPostgres, stopPostgres } from '../test/setup/servers.js';

const keep = process.argv.includes('--keep');
const scale = Number(process.env.DEMO_ROWS ?? 1_500_000);

function dbferry(args: string[], cwd: string): number {
  process.stdout.write(`\n$ dbferry ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, stdio: 'inherit', env: { ...process.env, CI: process.env.CI ?? '' } });
  return r.status ?? 1;
}

async function main(): Promise<void> {
  process.stdout.write('Starting PostgreSQL 15 (source) and PostgreSQL 17 (target), embedded, on free ports...\n');
  const [source, target] = await Promise.all([startPostgres({ major: 15 }), startPostgres({ major: 17 })]);
  const dir = mkdtempSync(join(tmpdir(), 'dbferry-demo-'));
  try {
    process.stdout.write(`Loading a sample "shop" database (${scale} orders) into the source...\n`);
    await pgQuery(source, 'CREATE DATABASE shop');
    await pgQuery(source, 'CREATE ROLE shop_app LOGIN; CREATE ROLE shop_readonly');
    await pgQuery(
      source,
      `CREATE SCHEMA sales;
       CREATE TABLE public.customers (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL, name text, created_at timestamptz DEFAULT now());
       CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer_id bigint REFERENCES public.customers(id), total numeric(12,2), items jsonb, placed_at timestamptz);
       CREATE TABLE public."Audit Log" (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), entry text);
       INSERT INTO public.customers (email, name) SELECT 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, ${Math.max(1, Math.floor(scale / 10))}) g;
       INSERT INTO sales.orders (customer_id, total, items, placed_at)
         SELECT 1 + (g % ${Math.max(1, Math.floor(scale / 10))}), (g % 1000) / 7.0, jsonb_build_object('sku', g % 97, 'qty', g % 5 + 1), now() - (g || ' minutes')::interval
           FROM generate_series(1, ${scale}) g;
       INSERT INTO public."Audit Log" (entry) SELECT 'event ' || g FROM generate_series(1, 1000) g;
       ANALYZE;`,
      'shop',
    );
    writeFileSync(
      join(dir, 'migration.yaml'),
      [
        '# yaml-language-server: $schema=../schemas/migration.schema.json',
        'version: 1',
        'name: shop-to-pg17',
        'source:',
        `  uri: postgres://postgres@127.0.0.1:${source.port}/postgres?sslmode=disable`,
        'target:',
        `  host: 127.0.0.1`,
        `  port: ${target.port}`,
        '  username: postgres',
        '  ssl: disable',
        'databases:',
        '  include: [shop]',
        'tables:',
        '  skip: [shop.public."Audit Log"]',
        'copy:',
        '  jobs: 2',
        '',
      ].join('\n'),
    );
    process.stdout.write(`Wrote ${join(dir, 'migration.yaml')}\n`);
    const failed: string[] = [];
    for (const step of [['validate'], ['check'], ['plan'], ['apply', '--yes'], ['status']]) {
      const code = dbferry(step, dir);
      if (code !== 0) failed.push(`\`dbferry ${step.join(' ')}\` exited ${code}`);
      // Nothing after a failed apply can succeed; stop there.
      if (code !== 0 && step[0] === 'apply') break;
    }
    if (failed.length) {
      process.stderr.write(`\nDemo failed: ${failed.join('; ')}.\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write('\nDemo finished: every step succeeded.\n');
    }
    if (keep) {
      process.stdout.write(
        `\nServers left running (--keep): source port ${source.port}, target port ${target.port}; data in ${source.dir} and ${target.dir}.\n`,
      );
      return;
    }
  } finally {
    if (!keep) {
      process.stdout.write('\nStopping the servers...\n');
      await Promise.all([stopPostgres(source), stopPostgres(target)]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
