/** Canonical, Aiven and Azure forms normalise to the same config; connections follow libpq. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { parseUri, pgpassLookup } from '../../src/config/connection.js';
import { parseAzureResourceId } from '../../src/config/forms.js';
import { parseTableRef, sanitizeName, splitQualifiedName } from '../../src/config/identifiers.js';
import { parseDuration, parseSize } from '../../src/util/sizes.js';
import { nearest } from '../../src/util/suggest.js';
import { ROOT } from '../setup/cli.js';

const env = { SOURCE_PASSWORD: 'src-pw-1', TARGET_PASSWORD: 'tgt-pw-1', TARGET_HOST: 'target.example' };

describe('examples', () => {
  const dir = join(ROOT, 'examples');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(`${f} is valid`, () => {
      const loaded = loadConfigFile(join(dir, f), { env, pgpassText: '' });
      expect(loaded.config.name).toMatch(/^[A-Za-z0-9][A-Za-z0-9-]*$/);
      expect(loaded.warnings.filter((w) => /password is written/.test(w.message))).toEqual([]);
    });
  }
});

describe('canonical form', () => {
  it('applies defaults', () => {
    const { config } = loadConfigText('m.yaml', 'name: x\nsource:\n  host: a\ntarget:\n  host: b\n', { env: {}, pgpassText: '' });
    expect(config).toMatchObject({
      engine: 'postgresql',
      mode: 'offline',
      option: 'ValidateAndMigrate',
      method: 'auto',
      verify: 'auto',
      verifySampleAbove: 64 * 1024 ** 2,
      copy: {
        jobs: 4,
        splitTablesLargerThan: 2 * 1024 ** 3,
        maxRate: null,
        pauseWhen: { sourceConnectionsAbove: null, standbyLagAbove: null },
      },
      replication: { maxLag: 1024 * 1024 },
      roles: { migrate: true, exclude: [] },
    });
    expect(config.source).toMatchObject({ host: 'a', port: 5432, ssl: 'prefer', dbname: 'postgres' });
  });

  it('expands ${VAR} and ${VAR:-default}, typed by the schema', () => {
    const { config } = loadConfigText(
      'm.yaml',
      'name: x\nsource:\n  host: ${SH:-a.example}\n  port: ${SP}\n  password: ${PW}\ntarget:\n  host: b\n',
      {
        env: { SP: '6543', PW: '12345' },
        pgpassText: '',
      },
    );
    expect(config.source.host).toBe('a.example');
    expect(config.source.port).toBe(6543);
    expect(config.source.password).toBe('12345');
    expect(config.source.passwordSource).toBe('yaml');
  });

  it('infers mysql from the URI scheme and parses maxLag as seconds', () => {
    const { config } = loadConfigText(
      'm.yaml',
      'name: x\nsource:\n  uri: mysql://u@a:3307\ntarget:\n  host: b\nreplication:\n  maxLag: 10s\n',
      { env: {}, pgpassText: '' },
    );
    expect(config.engine).toBe('mysql');
    expect(config.source.port).toBe(3307);
    expect(config.target.port).toBe(3306);
    expect(config.replication.maxLag).toBe(10);
  });

  it('takes libpq environment variables and ~/.pgpass', () => {
    const { config } = loadConfigText('m.yaml', 'name: x\nsource:\n  host: a\ntarget:\n  host: b\n', {
      env: { PGPORT: '6000', PGUSER: 'alice', PGSSLMODE: 'require' },
      pgpassText: 'b:6000:postgres:alice:from-pgpass\n',
    });
    expect(config.source).toMatchObject({ port: 6000, user: 'alice', ssl: 'require' });
    expect(config.target.password).toBe('from-pgpass');
    expect(config.target.passwordSource).toBe('pgpass');
  });

  it('folds table references as PostgreSQL does', () => {
    const { config } = loadConfigText(
      'm.yaml',
      'name: x\nsource:\n  host: a\ntarget:\n  host: b\ntables:\n  skip: [Orders.Public.Audit, \'"Odd.Name"\', s.t]\n',
      { env: {}, pgpassText: '' },
    );
    expect(config.tables.skip.map((t) => [t.db, t.schema, t.table])).toEqual([
      ['orders', 'public', 'audit'],
      [undefined, undefined, 'Odd.Name'],
      [undefined, 's', 't'],
    ]);
  });
});

describe('Aiven form', () => {
  it('maps migration.* keys', () => {
    const { config, form } = loadConfigFile(join(ROOT, 'examples', 'aiven.yaml'), { env, pgpassText: '' });
    expect(form).toBe('aiven');
    expect(config).toMatchObject({ name: 'to-aiven', mode: 'online', method: 'replication' });
    expect(config.source).toMatchObject({
      host: 'old-db.internal',
      port: 5432,
      user: 'postgres',
      ssl: 'require',
      dbname: 'defaultdb',
      password: 'src-pw-1',
    });
    expect(config.databases.exclude).toEqual(['scratch', 'tmp']);
    expect(config.target).toMatchObject({ host: 'pg-target.aivencloud.com', port: 12345, ssl: 'require' });
  });

  it('derives a name when none is given', () => {
    const { config } = loadConfigText('a.yaml', 'migration:\n  host: db1.corp.example\n  dbname: app_db\ntarget:\n  host: t\n', {
      env: {},
      pgpassText: '',
    });
    expect(config.name).toBe('db1-corp-example-app-db');
  });
});

describe('Azure form', () => {
  it('maps properties case-insensitively, both credential shapes', () => {
    const { config, form } = loadConfigFile(join(ROOT, 'examples', 'azure.yaml'), { env, pgpassText: '' });
    expect(form).toBe('azure');
    expect(config.source).toMatchObject({ host: '10.0.0.4', port: 5432, user: 'postgres', password: 'src-pw-1', ssl: 'prefer' });
    expect(config.target).toMatchObject({ user: 'azureadmin', password: 'tgt-pw-1', ssl: 'require' });
    expect(config.databases).toMatchObject({ include: ['ticketdb', 'inventorydb'], overwrite: true });
    const older = loadConfigText(
      'z.yaml',
      'properties:\n  sourcedbserverresourceid: "[::1]:6432@bob"\n  AdminCredentials:\n    SourceServerPassword: pw9\n  migrationmode: Online\n  triggerCutover: true\ntarget:\n  host: t\n',
      {
        env: {},
        pgpassText: '',
      },
    );
    expect(older.config.source).toMatchObject({ host: '::1', port: 6432, user: 'bob', password: 'pw9' });
    expect(older.config).toMatchObject({ mode: 'online', cutover: true });
  });

  it('parses resource ids', () => {
    expect(parseAzureResourceId('host.example:5432@admin')).toEqual({ host: 'host.example', port: 5432, user: 'admin' });
    expect(parseAzureResourceId('nohost')).toBeUndefined();
    expect(parseAzureResourceId('h:99999@u')).toBeUndefined();
  });
});

describe('pure helpers', () => {
  it('parses URIs', () => {
    const r = parseUri('postgresql://al%40ice:p%3Aw@[::1]:6000/my%20db?sslmode=verify-full&sslrootcert=ca.pem');
    expect(r.ok && r.value).toMatchObject({
      engine: 'postgresql',
      host: '::1',
      port: 6000,
      username: 'al@ice',
      password: 'p:w',
      dbname: 'my db',
      ssl: 'verify-full',
      sslrootcert: 'ca.pem',
    });
    const m = parseUri('mysql://root@h?ssl-mode=VERIFY_IDENTITY');
    expect(m.ok && m.value.ssl).toBe('verify-full');
    expect(parseUri('ftp://x').ok).toBe(false);
    expect(parseUri('postgres://h1,h2/db').ok).toBe(false);
  });

  it('reads .pgpass with wildcards and escapes', () => {
    const text = '# comment\nh:5432:db:u:first\n*:*:*:bob:pa\\:ss\n';
    expect(pgpassLookup(text, 'h', 5432, 'db', 'u')).toBe('first');
    expect(pgpassLookup(text, 'other', 1, 'x', 'bob')).toBe('pa:ss');
    expect(pgpassLookup(text, 'other', 1, 'x', 'carol')).toBeUndefined();
  });

  it('parses sizes and durations', () => {
    expect(parseSize('1MB')).toBe(1048576);
    expect(parseSize('2 GB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1.5kB')).toBe(1536);
    expect(parseSize(42)).toBe(42);
    expect(parseSize('lots')).toBeUndefined();
    expect(parseDuration('5s')).toBe(5);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration(3)).toBe(3);
  });

  it('splits qualified names', () => {
    expect(splitQualifiedName('"a""b".C', 'postgresql')).toEqual({ ok: true, value: ['a"b', 'c'] });
    expect(splitQualifiedName('`x.y`.z', 'mysql')).toEqual({ ok: true, value: ['x.y', 'z'] });
    expect(splitQualifiedName('a..b', 'postgresql').ok).toBe(false);
    expect(parseTableRef('a.b.c.d', 'postgresql').ok).toBe(false);
  });

  it('suggests nearest words and sanitises names', () => {
    expect(nearest('jbos', ['jobs', 'splitTablesLargerThan'])).toBe('jobs');
    expect(nearest('zzzzzz', ['jobs'])).toBeUndefined();
    expect(sanitizeName('db.example.com_5432')).toBe('db-example-com-5432');
  });
});

describe('schema', () => {
  it('has a description and a default on every key', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'migration.schema.json'), 'utf8')) as Record<string, unknown>;
    const missing: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as { properties?: Record<string, Record<string, unknown>> };
      for (const [k, v] of Object.entries(n.properties ?? {})) {
        if (!('description' in v) || !('default' in v)) missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    };
    for (const [name, def] of Object.entries(schema.$defs as Record<string, unknown>)) walk(def, name);
    expect(missing).toEqual([]);
  });
});
