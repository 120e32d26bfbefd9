/** Driver failures as the user reads them: which server, what it said, how to resume. Pure. */
import { describe, expect, it } from 'vitest';
import { labelConnection, labelOf, migrationError, serverOf, tagServer } from '../../src/engines/server-error.js';
import { DbferryError } from '../../src/util/errors.js';

const LABEL = 'source server postgres@db.example:5432 (database "app")';

describe('migrationError', () => {
  it('names the server of a lost connection and says how to resume', () => {
    const e = tagServer(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), LABEL);
    const m = migrationError(e, 'app', 'finished tables are not copied again') as DbferryError;
    expect(m).toBeInstanceOf(DbferryError);
    expect(m.code).toBe('MIGRATION_FAILED');
    expect(m.exitCode).toBe(1);
    expect(m.message).toBe(
      `migrating database "app" failed: the connection to the ${LABEL} was lost (terminating connection due to administrator command)`,
    );
    expect(m.hint).toMatch(/^Nothing is lost: .*run `dbferry apply` again; finished tables are not copied again\.$/);
  });

  it('recognises lost connections by code or by message (mysql2, sockets)', () => {
    for (const e of [
      Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' }),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      new Error('Connection terminated unexpectedly'),
    ]) {
      expect((migrationError(tagServer(e, LABEL), 'app', 'x') as DbferryError).message).toContain('was lost');
    }
  });

  it('other server errors say which server reported them; untagged ones keep their text', () => {
    const tagged = tagServer(Object.assign(new Error('relation "x" already exists'), { code: '42P07' }), 'target server u@h:1');
    expect((migrationError(tagged, 'db', 'x') as DbferryError).message).toBe(
      'migrating database "db" failed: the target server u@h:1 reported: relation "x" already exists',
    );
    expect((migrationError(new Error('boom\nsecond line'), 'db', 'x') as DbferryError).message).toBe(
      'migrating database "db" failed: boom',
    );
  });

  it('passes DbferryErrors and interruptions through unchanged', () => {
    const d = new DbferryError('STATE_CONFLICT', 'x');
    expect(migrationError(d, 'db', 'x')).toBe(d);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(migrationError(abort, 'db', 'x')).toBe(abort);
  });

  it('the first tag wins; labels belong to connections', () => {
    const e = tagServer(tagServer(new Error('x'), 'first'), 'second');
    expect(serverOf(e)).toBe('first');
    expect(serverOf(new Error('y'))).toBeUndefined();
    expect(tagServer('not an object', 'l')).toBe('not an object');
    const conn = {};
    labelConnection(conn, LABEL);
    expect(labelOf(conn)).toBe(LABEL);
    expect(labelOf({})).toBeUndefined();
  });
});
