/** `npm run bench [-- <case>]`: benchmarks, printed as Markdown tables. Cases: check. */
import { benchCheck } from './check.js';

const CASES: Record<string, () => Promise<string>> = {
  check: benchCheck,
};

async function main(): Promise<void> {
  const which = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = which.length ? which : Object.keys(CASES);
  for (const name of names) {
    const fn = CASES[name];
    if (!fn) {
      process.stderr.write(`unknown benchmark "${name}"; known: ${Object.keys(CASES).join(', ')}\n`);
      process.exitCode = 2;
      return;
    }
    process.stdout.write(`\n## ${name}\n\n${await fn()}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`benchmark failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
