/** At least 30 broken configs: each gives exit 2, file:line:col, no stack trace. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../setup/cli.js';

const OK_SOURCE = 'source:\n  host: a.example\n  username: u\n';
const OK_TARGET = 'target:\n  host: b.example\n  username: u\n';
const base = (extra: string) => `version: 1\nname: m1\n${OK_SOURCE}${OK_TARGET}${extra}`;

interface Case {
  name: string;
  yaml: string | Buffer;
  /** Expected `line:col: ` prefix fragment and message fragment. */
  at: string;
  message: RegExp;
  env?: Record<string, string>;
  /** The command run (default validate). */
  cmd?: string;
}

const cases: Case[] = [
  { name: 'syntax error (unclosed flow)', yaml: 'version: 1\nname: [a, b\n', at: ':3:1', message: /YAML syntax/ },
  { name: 'tab indentation', yaml: 'version: 1\nsource:\n\thost: x\n', at: ':3:1', message: /YAML syntax/ },
  { name: 'duplicate key', yaml: 'version: 1\nname: a\nname: b\n', at: ':3:1', message: /YAML syntax.*unique|YAML syntax/i },
  { name: 'top level is a list', yaml: '- a\n- b\n', at: ':1:1', message: /top level must be a mapping/ },
  { name: 'top level is a scalar', yaml: 'hello\n', at: ':1:1', message: /top level must be a mapping/ },
  { name: 'empty file', yaml: '', at: ':1:1', message: /file is empty/ },
  { name: 'only comments', yaml: '# nothing\n# here\n', at: ':1:1', message: /file is empty/ },
  { name: 'unknown top-level key', yaml: base('colour: blue\n'), at: ':9:1', message: /unknown key "colour" at the top level/ },
  { name: 'misspelled key suggests', yaml: base('verfy: counts\n'), at: ':9:1', message: /unknown key "verfy".*did you mean "verify"/ },
  {
    name: 'misspelled nested key',
    yaml: base('copy:\n  jbos: 4\n'),
    at: ':10:3',
    message: /unknown key "jbos" in copy; did you mean "jobs"/,
  },
  {
    name: 'misspelled connection key',
    yaml: `version: 1\nname: m1\nsource:\n  hots: a\n${OK_TARGET}`,
    at: ':4:3',
    message: /did you mean "host"/,
  },
  {
    name: 'wrong type: port string',
    yaml: `version: 1\nname: m1\nsource:\n  host: a\n  port: abc\n${OK_TARGET}`,
    at: ':5:9',
    message: /source.port must be an integer/,
  },
  {
    name: 'port out of range',
    yaml: `version: 1\nname: m1\nsource:\n  host: a\n  port: 70000\n${OK_TARGET}`,
    at: ':5:9',
    message: /source.port must be <= 65535/,
  },
  {
    name: 'wrong type: include not a list',
    yaml: base('databases:\n  include: orders\n'),
    at: ':10:12',
    message: /databases.include must be a list/,
  },
  {
    name: 'wrong type: boolean',
    yaml: base('databases:\n  overwrite: maybe\n'),
    at: ':10:14',
    message: /databases.overwrite must be true or false/,
  },
  {
    name: 'bad enum with suggestion',
    yaml: base('mode: onlin\n'),
    at: ':9:7',
    message: /mode must be one of offline \| online.*did you mean "online"/,
  },
  {
    name: 'bad ssl word',
    yaml: `version: 1\nname: m1\nsource:\n  host: a\n  ssl: verify\n${OK_TARGET}`,
    at: ':5:8',
    message: /source.ssl must be one of/,
  },
  { name: 'bad size', yaml: base('copy:\n  splitTablesLargerThan: huge\n'), at: ':10:26', message: /a size such as/ },
  { name: 'bad maxLag size for postgres', yaml: base('replication:\n  maxLag: 5s\n'), at: ':10:11', message: /bytes of WAL/ },
  { name: 'bad name', yaml: `version: 1\nname: -bad_name\n${OK_SOURCE}${OK_TARGET}`, at: ':2:7', message: /letters, digits and hyphens/ },
  { name: 'missing name', yaml: `version: 1\n${OK_SOURCE}${OK_TARGET}`, at: ':1:1', message: /missing required key "name"/ },
  { name: 'missing target', yaml: `version: 1\nname: m1\n${OK_SOURCE}`, at: ':1:1', message: /missing required key "target"/ },
  { name: 'wrong version', yaml: `version: 2\nname: m1\n${OK_SOURCE}${OK_TARGET}`, at: ':1:10', message: /version must be 1/ },
  // A command that connects needs every variable (validate does not: see below).
  {
    name: 'missing env var',
    cmd: 'plan',
    yaml: `version: 1\nname: m1\nsource:\n  host: a\n  password: \${NOPE_NOT_SET}\n${OK_TARGET}`,
    at: ':5:13',
    message: /NOPE_NOT_SET is not set/,
  },
  {
    name: 'alias without anchor',
    yaml: `version: 1\nname: m1\nsource: *foo\n${OK_TARGET}`,
    at: ':3:9',
    message: /alias \*foo refers to no anchor/,
  },
  {
    name: 'malformed env reference',
    yaml: `version: 1\nname: m1\nsource:\n  host: \${bad-name}\n${OK_TARGET}`,
    at: ':4:9',
    message: /malformed environment reference/,
  },
  {
    name: 'source equals target',
    yaml: `version: 1\nname: m1\nsource:\n  host: localhost\ntarget:\n  host: 127.0.0.1\n`,
    at: ':5:1',
    message: /same server/,
  },
  {
    name: 'db included and excluded',
    yaml: base('databases:\n  include: [a, b]\n  exclude: [b]\n'),
    at: ':11:13',
    message: /both included and excluded/,
  },
  {
    name: 'engine contradicts uri',
    yaml: `version: 1\nname: m1\nengine: mysql\nsource:\n  uri: postgres://u@a:5432/postgres\n${OK_TARGET}`,
    at: ':3:9',
    message: /source.uri is a postgresql URI/,
  },
  { name: 'cutover without online', yaml: base('cutover: true\n'), at: ':9:10', message: /only applies to mode: online/ },
  { name: 'replication method offline', yaml: base('mode: offline\nmethod: replication\n'), at: ':10:9', message: /needs mode: online/ },
  { name: 'bad uri scheme', yaml: `version: 1\nname: m1\nsource:\n  uri: http://a/b\n${OK_TARGET}`, at: ':4:8', message: /scheme "http"/ },
  {
    name: 'uri and host contradict',
    yaml: `version: 1\nname: m1\nsource:\n  uri: postgres://u@a:5432/x\n  host: b\n${OK_TARGET}`,
    at: ':5:9',
    message: /contradicts/,
  },
  { name: 'bad table reference', yaml: base("tables:\n  skip: ['\"unterminated.x']\n"), at: ':10:10', message: /unterminated/ },
  {
    name: 'table both included and skipped',
    yaml: base('tables:\n  include: [t1]\n  skip: [t1]\n'),
    at: ':11:10',
    message: /both in tables.include and tables.skip/,
  },
  {
    name: 'sslrootcert missing file',
    yaml: `version: 1\nname: m1\nsource:\n  host: a\n  ssl: verify-full\n  sslrootcert: ./nope.pem\n${OK_TARGET}`,
    at: ':6:16',
    message: /does not exist/,
  },
  {
    name: 'azure malformed resource id',
    yaml: 'properties:\n  sourceDbServerResourceId: just-a-host\ntarget:\n  host: t\n',
    at: ':2:29',
    message: /<host>:<port>@<user>/,
  },
  {
    name: 'azure unknown key (case-insensitive match fails)',
    yaml: 'properties:\n  SourceDbServerResourceId: h:5432@u\n  DbsToMigrat: [a]\ntarget:\n  host: t\n',
    at: ':3:3',
    message: /did you mean "dbsToMigrate"/,
  },
  {
    name: 'azure bad migrationMode',
    yaml: 'properties:\n  sourceDbServerResourceId: h:5432@u\n  migrationMode: Sometimes\ntarget:\n  host: t\n',
    at: ':3:18',
    message: /Offline \| Online/,
  },
  {
    name: 'aiven missing host',
    yaml: 'migration:\n  port: 5432\ntarget:\n  host: t\n',
    at: ':1:1',
    message: /missing required key "host" in migration/,
  },
  {
    name: 'aiven bad method',
    yaml: 'migration:\n  host: h\n  method: magic\ntarget:\n  host: t\n',
    at: ':3:11',
    message: /dump \| replication/,
  },
  { name: 'list with duplicates', yaml: base('databases:\n  include: [a, a]\n'), at: ':10:', message: /same value twice/ },
  { name: 'jobs zero', yaml: base('copy:\n  jobs: 0\n'), at: ':10:9', message: /copy.jobs must be >= 1/ },
  { name: 'binary file', yaml: Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00]), at: ':1:1', message: /binary file/ },
];

describe('bad input gives exit 2 with file:line:col and no stack trace', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const dir = tempDir();
      const file = join(dir, 'migration.yaml');
      writeFileSync(file, c.yaml);
      const r = await runCli([c.cmd ?? 'validate', file], { env: c.env ?? {} });
      expect(r.code, r.stderr).toBe(2);
      const line = r.stderr.split('\n').find((l) => l.startsWith(`${file}${c.at}`) && c.message.test(l));
      expect(line, `expected "${file}${c.at}... ${c.message}" in:\n${r.stderr}`).toBeDefined();
      expect(r.stderr).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
      expect(r.stdout).toBe('');
    });
  }

  it('collects every error instead of stopping at the first', async () => {
    const dir = tempDir();
    const file = join(dir, 'm.yaml');
    writeFileSync(file, base('mode: onlin\ncopy:\n  jbos: 2\nverify: all\ndatabases:\n  include: [a]\n  exclude: [a]\n'));
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:9:7: mode must be one of/);
    expect(r.stderr).toMatch(/:11:3: unknown key "jbos"/);
    expect(r.stderr).toMatch(/:12:9: verify must be one of/);
    expect(r.stderr).toMatch(/:15:13: database "a" is both included and excluded/);
    expect(r.stderr).toMatch(/4 errors in the migration config/);
  });

  it('a directory instead of a file', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'migration.yaml'));
    const r = await runCli(['validate', join(dir, 'migration.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/migration\.yaml:1:1: is a directory/);
  });

  it('a missing file', async () => {
    const r = await runCli(['validate', '/nonexistent/dir/migration.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file/);
  });

  it('unknown command and unknown flag are usage errors (exit 2)', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(2);
    expect((await runCli(['validate', '--frob'])).code).toBe(2);
  });
});

describe('validate needs no secret', () => {
  it('every shipped example validates (exit 0) in an empty environment; each unset variable is a positioned note', async () => {
    const { readdirSync } = await import('node:fs');
    const examples = join(ROOT, 'examples');
    const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const r = await runCli(['validate', join(examples, f)], { env: {} });
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(
        /:\d+:\d+: warning: environment variable SOURCE_PASSWORD is not set \(referenced as \$\{SOURCE_PASSWORD\}\): fine for validate/,
      );
      expect(r.stdout).toContain('is valid');
      // plan --offline connects to nothing either.
      expect((await runCli(['plan', '--offline', join(examples, f)], { env: {} })).code, f).toBe(0);
    }
  });
});

describe('validate says what cannot match', () => {
  it('a table entry naming a database that databases.include does not select is a positioned warning', async () => {
    const dir = tempDir();
    const file = join(dir, 'migration.yaml');
    writeFileSync(file, base('databases:\n  include: [shop]\ntables:\n  skip: [shopp.public.audit, shop.public.log_*]\n'));
    const r = await runCli(['validate', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /migration\.yaml:12:\d+: warning: tables\.skip entry "shopp\.public\.audit" names database "shopp", which databases\.include does not select: it matches nothing/,
    );
    expect(r.stderr).not.toContain('shop.public.log_*');
  });
});
