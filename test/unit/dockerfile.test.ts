/**
 * The Dockerfile cannot be built here (no registry for base images), so it is linted instead:
 * dockerfile-utils' validator finds no problem, and what the README promises is in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../setup/cli.js';

const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((l) => l.trim() && !l.trim().startsWith('#'));

describe('Dockerfile', () => {
  it('has no problem dockerfile-utils can find', async () => {
    const problems = await validate(text);
    expect(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });

  it('is Node.js LTS, with the PostgreSQL client of every supported major, and runs as a user that is not root', () => {
    expect(instructions.filter((l) => l.startsWith('FROM ')).every((l) => /^FROM node:(20|22|24)-/.test(l))).toBe(true);
    const install = instructions.find((l) => l.includes('postgresql-client-13')) ?? '';
    for (const major of [13, 14, 15, 16, 17, 18]) expect(install).toContain(`postgresql-client-${major}`);
    expect(install).toContain('mariadb-client');
    const users = instructions.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toMatch(/^USER (?!root\b|0\b)\S+/);
    expect(instructions.find((l) => l.startsWith('ENTRYPOINT'))).toContain('/app/bin/dbferry.js');
  });
});
