/** What reaches a terminal: Listr2's default renderer through ProgressStream, in-place redraws, and the state after a stopped run. */
import { afterEach, describe, expect, it } from 'vitest';
import { ProgressStream } from '../../src/cli/io.js';
import { Redrawer, rowsOf } from '../../src/cli/redraw.js';
import { runTasks } from '../../src/run/runner.js';
import { newDatabaseRecord } from '../../src/state/records.js';
import { stateAfterStoppedRun } from '../../src/state/transitions.js';
import type { DatabaseRecord, DatabaseStatus } from '../../src/state/types.js';
import { clearSecrets, registerSecret } from '../../src/util/redact.js';

afterEach(() => clearSecrets());

describe('ProgressStream under the default renderer', () => {
  it('lets the renderer take the stream over and redacts every frame, including a driver error', async () => {
    registerSecret('Unit-Secret-42');
    let screen = '';
    const terminal = { write: (s: string) => ((screen += s), true), isTTY: true, columns: 100, rows: 40 };
    // Listr2 picks its default renderer only when process.stdout is a terminal.
    const wasTTY = process.stdout.isTTY;
    process.stdout.isTTY = true;
    try {
      const run = runTasks(
        [
          { title: 'first', task: async (_c, t) => void (t.output = 'connecting as admin:Unit-Secret-42@db') },
          {
            title: 'second',
            task: async () => {
              throw new Error('password authentication failed (password=Unit-Secret-42)');
            },
          },
        ],
        {},
        { renderer: 'default', output: new ProgressStream(terminal) },
      );
      await expect(run).rejects.toThrow('password authentication failed');
    } finally {
      process.stdout.isTTY = wasTTY;
    }
    // The default renderer ran (it hides the cursor when it takes the stream over), not a fallback.
    expect(screen).toContain('\u001b[?25l');
    expect(screen).toContain('second');
    expect(screen).toContain('password authentication failed');
    expect(screen).not.toContain('Unit-Secret-42');
  });
});

describe('Redrawer', () => {
  it('erases exactly the rows of the previous frame, wrapped lines included', () => {
    expect(rowsOf('ab\ncd\n', 80)).toBe(2);
    expect(rowsOf(`${'x'.repeat(85)}\n\n`, 80)).toBe(3);
    expect(rowsOf('\u001b[1mbold\u001b[22m\n', 4)).toBe(1);
    let out = '';
    const r = new Redrawer({ write: (s: string) => ((out += s), true), isTTY: true, columns: 80 });
    r.draw('one\ntwo\n');
    r.draw('three');
    expect(out).toBe('one\ntwo\n\r\u001b[2A\u001b[0Jthree\n');
  });

  it('writes frames one after another off a terminal', () => {
    let out = '';
    const r = new Redrawer({ write: (s: string) => ((out += s), true), isTTY: false });
    r.draw('a\n');
    r.draw('b\n');
    expect(out).toBe('a\nb\n');
  });
});

describe('stateAfterStoppedRun', () => {
  const dbs = (...statuses: DatabaseStatus[]): DatabaseRecord[] =>
    statuses.map((s, i) => ({ ...newDatabaseRecord('m', `d${i}`, 'replication', null), status: s }));
  const at = '2026-12-02T00:00:00.000Z';

  it('an error with nothing replicating fails the migration', () => {
    expect(stateAfterStoppedRun(dbs('done', 'failed'), { interrupted: false, message: 'boom', at })).toEqual({
      state: 'Failed',
      substate: 'Failed',
      error: 'boom',
      endedAt: at,
    });
  });

  it('an error while a database replicates keeps the migration InProgress and says why', () => {
    const p = stateAfterStoppedRun(dbs('syncing', 'failed'), { interrupted: false, message: 'boom', at });
    expect(p).toMatchObject({ state: 'InProgress', substate: 'MigratingData', endedAt: null });
    expect(p.error).toContain('boom');
    expect(p.error).toContain('replication of "d0" is still running');
  });

  it('an error after every database replicates leaves it waiting for cutover', () => {
    expect(stateAfterStoppedRun(dbs('syncing', 'syncing', 'done'), { interrupted: false, message: 'renderer crashed', at })).toMatchObject({
      state: 'InProgress',
      substate: 'WaitingForCutoverTrigger',
    });
  });

  it('an interruption is always resumable', () => {
    expect(stateAfterStoppedRun(dbs('running'), { interrupted: true, message: 'x', at })).toEqual({
      state: 'InProgress',
      substate: 'MigratingData',
      error: 'interrupted; run `dbferry apply` again to resume',
      endedAt: null,
    });
    expect(stateAfterStoppedRun([], { interrupted: true, message: 'x', at }).state).toBe('InProgress');
  });
});
