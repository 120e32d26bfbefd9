/** import (Azure/Aiven), secret redaction, status documents, state SQL. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { importAiven, importAzure, shellTokens } from '../../src/config/import.js';
import { loadConfigText } from '../../src/config/load.js';
import { redact, registerSecret } from '../../src/util/redact.js';
import { statusDocument, renderStatusText } from '../../src/run/status-view.js';
import { createStatements, upsertStatement } from '../../src/state/schema.js';
import { newDatabaseRecord } from '../../src/state/records.js';
import type { MigrationRecord } from '../../src/state/types.js';
import { DbferryError } from '../../src/util/errors.js';
import { ROOT, runCli, tempDir } from '../setup/cli.js';

describe('import', () => {
  it('azure properties JSON -> canonical YAML without the passwords', () => {
    const text = readFileSync(join(ROOT, 'examples', 'azure-properties.json'), 'utf8').replace('<source password>', 'azure-marker-1');
    const r = importAzure('azure-properties.json', text, { targetHost: 'flex.example.com' });
    expect(r.yaml).not.toContain('azure-marker-1');
    const doc = parse(r.yaml) as Record<string, unknown>;
    expect(doc).toMatchObject({
      engine: 'postgresql',
      mode: 'online',
      source: { host: '10.0.0.4', port: 5432, username: 'postgres', password: '${SOURCE_PASSWORD}' },
      target: { host: 'flex.example.com', username: 'azureadmin', password: '${TARGET_PASSWORD}' },
      databases: { include: ['ticketdb', 'inventorydb'], overwrite: true },
    });
    // The output is itself a valid config.
    const loaded = loadConfigText('out.yaml', r.yaml, { env: { SOURCE_PASSWORD: 'a', TARGET_PASSWORD: 'b' }, pgpassText: '' });
    expect(loaded.config.source.host).toBe('10.0.0.4');
    expect(r.notes.join('\n')).toMatch(/were NOT copied/);
  });

  it('azure bare properties object and bad resource id', () => {
    const r = importAzure('p.json', '{"sourceDbServerResourceId": "h:5432@u", "dbsToMigrate": ["a"]}');
    expect(parse(r.yaml)).toMatchObject({ source: { host: 'h' }, databases: { include: ['a'] } });
    expect(() => importAzure('p.json', '{"properties": {"sourceDbServerResourceId": "nope"}}')).toThrow(DbferryError);
    try {
      importAzure('p.json', '{\n  "properties": {\n    "sourceDbServerResourceId": "nope"\n  }\n}');
    } catch (e) {
      expect((e as DbferryError).diagnostics[0]).toMatchObject({ line: 3, col: 33 });
    }
  });

  it('aiven avn shell snippet and YAML', () => {
    const text = readFileSync(join(ROOT, 'examples', 'aiven-settings.sh'), 'utf8');
    const r = importAiven('s.sh', text);
    expect(r.yaml).not.toContain('SRC_PASSWORD');
    expect(parse(r.yaml)).toMatchObject({
      source: { host: 'old-db.internal', dbname: 'defaultdb', ssl: 'require' },
      databases: { exclude: ['scratch', 'tmp'] },
      mode: 'online',
    });
    expect(r.notes.join('\n')).toContain('DEST_PG_NAME');
    const y = importAiven('a.yaml', 'host: h1\nport: 3306\nmethod: dump\n', { engine: 'mysql' });
    expect(parse(y.yaml)).toMatchObject({ engine: 'mysql', mode: 'offline', method: 'dump', source: { port: 3306 } });
    try {
      importAiven('s.sh', 'avn service update \\\n  -c migration.hots=x svc');
      expect.unreachable();
    } catch (e) {
      expect((e as DbferryError).diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`)).toContain(
        '2:6: unknown Aiven setting migration.hots; known: host, port, ssl, username, password, dbname, ignore_dbs, ignore_roles, method',
      );
    }
  });

  it('tokenises shell text', () => {
    expect(shellTokens(`a "b c" 'd'\\\n  e\\ f # x\n`).map((t) => t.token)).toEqual(['a', 'b c', 'd', 'e f']);
  });
});

describe('redaction', () => {
  it('masks registered secrets, URI passwords and keyword passwords', () => {
    registerSecret('s3cr3t-marker');
    expect(redact('failed: s3cr3t-marker!')).toBe('failed: ********!');
    expect(redact('postgres://u:pa55@h:5432/db')).toBe('postgres://u:********@h:5432/db');
    expect(redact('host=h password=abc user=u')).toBe('host=h password=******** user=u');
    expect(redact('PGPASSWORD=xyz pg_dump')).toBe('PGPASSWORD=******** pg_dump');
    expect(redact('password: ${SOURCE_PASSWORD}')).toBe('password: ${SOURCE_PASSWORD}');
  });
});

describe('status document', () => {
  const m: MigrationRecord = {
    name: 'm1',
    engine: 'postgresql',
    mode: 'online',
    option: 'ValidateAndMigrate',
    method: 'auto',
    state: 'InProgress',
    substate: 'WaitingForCutoverTrigger',
    error: null,
    configFingerprint: 'x',
    sourceFingerprint: null,
    plan: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    endedAt: null,
  };
  it('includes the Aiven shape', () => {
    const dbs = [
      { ...newDatabaseRecord('m1', 'defaultdb', 'dump', 'method auto fell back to dump: wal_level is replica'), status: 'done' as const },
      { ...newDatabaseRecord('m1', 'has_aiven_extras', 'replication', null), status: 'syncing' as const, lag: 1234 },
    ];
    const doc = statusDocument(m, dbs, []);
    expect(doc.migration).toEqual({ error: null, method: '', status: 'syncing', seconds_behind_master: null, source_active: true });
    expect(doc.migration_detail).toEqual([
      { dbname: 'defaultdb', error: null, method: 'pg_dump', status: 'done' },
      { dbname: 'has_aiven_extras', error: null, method: 'replication', status: 'syncing' },
    ]);
    const text = renderStatusText(doc);
    expect(text).toContain('InProgress / WaitingForCutoverTrigger');
    expect(text).toContain('defaultdb: method auto fell back to dump: wal_level is replica');
  });
});

describe('state SQL', () => {
  it('creates and upserts in both dialects', () => {
    expect(createStatements('postgresql')[0]).toBe('CREATE SCHEMA IF NOT EXISTS "dbferry"');
    expect(createStatements('mysql')[0]).toContain('CREATE DATABASE IF NOT EXISTS `dbferry`');
    expect(upsertStatement('postgresql', 'databases')).toMatch(/ON CONFLICT \("migration", "dbname"\) DO UPDATE SET/);
    expect(upsertStatement('mysql', 'tables')).toMatch(/ON DUPLICATE KEY UPDATE/);
  });
});

describe('import for reviewers', () => {
  it('stdout gets the same ${VAR} references as --out, never a mask; the output validates', async () => {
    const r = await runCli(['import', 'aiven', join(ROOT, 'examples', 'aiven.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('password: ${SOURCE_PASSWORD}');
    expect(r.stdout).not.toContain('********');
    const dir = tempDir();
    writeFileSync(join(dir, 'migration.yaml'), r.stdout);
    expect((await runCli(['validate', join(dir, 'migration.yaml')])).code).toBe(0);
  });

  it('recognises the kind from the content (comments do not count), and reads - as standard input', async () => {
    const azure = await runCli(['import', join(ROOT, 'examples', 'azure-properties.json')]);
    expect(azure.code, azure.stderr).toBe(0);
    expect(azure.stdout).toContain('Imported from the Azure migration properties');
    const aivenYaml =
      '# run it with avn service update -c migration.host=x\nmigration:\n  host: src.example\n  port: 5432\n  username: u\n';
    const fromStdin = await runCli(['import', '-'], { stdin: aivenYaml });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toContain('host: src.example');
    const shell = await runCli(['import', 'aiven', '-'], { stdin: 'avn service update -c migration.host=h -c migration.port=5432 dest\n' });
    expect(shell.code, shell.stderr).toBe(0);
    const unknown = await runCli(['import', '-'], { stdin: 'just: something\n' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('cannot tell whether this is Azure migration properties or Aiven migration settings; name the kind');
  });

  it('--db is repeatable and comma-separated and never swallows the file argument', async () => {
    const dir = tempDir();
    const file = join(dir, 'm.yaml');
    writeFileSync(file, 'name: m\nsource:\n  host: 127.0.0.1\n  port: 1\ntarget:\n  host: 127.0.0.1\n  port: 2\n');
    const r = await runCli(['cutover', '--db', 'a', '--db', 'b,c', file]);
    expect(r.stderr).not.toContain('no such file');
    expect(r.stderr).toContain('127.0.0.1:2');
  });
});
