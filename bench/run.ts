/** `npm run bench [-- <case>] [--scale=N] [--jobs=N]`: benchmarks as Markdown tables. Cases: copy (default), online, mysql, check, builds (A/B of two dbferry builds). */
import { benchBuilds } from './builds.js';
import { benchCheck } from './check.js';
import { benchCopy } from './copy.js';
import { benchOnline } from './online.js';
import { benchMysql } from './mysql.js';

const CASES: Record<string, (args: string[]) => Promise<string>> = {
  copy: benchCopy,
  online: benchOnline,
  mysql: benchMysql,
  check: benchCheck,
  builds: benchBuilds,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const which = args.filter((a) => !a.startsWith('-') && CASES[a] !== undefined);
  const names = which.length ? which : ['copy'];
  for (const name of names) {
    const fn = CASES[name];
    if (!fn) {
      process.stderr.write(`unknown benchmark "${name}"; known: ${Object.keys(CASES).join(', ')}\n`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`\n## ${name}\n\n${await fn(args)}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`benchmark failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
