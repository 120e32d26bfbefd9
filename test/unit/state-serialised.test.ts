/** The state store's statements run one at a time on its one connection, in the order they were asked for. */
import { describe, expect, it } from 'vitest';
import { serialised, type SqlExecutor } from '../../src/state/store.js';

/** An executor whose statements end when the test says; it records how many ran at once. */
function gatedExecutor() {
  const log: string[] = [];
  const gates = new Map<string, () => void>();
  let running = 0;
  let most = 0;
  const db: SqlExecutor = {
    dialect: 'postgresql',
    query: (sql) => {
      running++;
      most = Math.max(most, running);
      log.push(`start ${sql}`);
      return new Promise((resolve, reject) => {
        gates.set(sql, () => {
          running--;
          log.push(`end ${sql}`);
          if (sql.startsWith('fail')) reject(new Error(sql));
          else resolve([{ sql }]);
        });
      });
    },
    close: async () => {
      log.push('close');
    },
  };
  const open = async (sql: string) => {
    while (!gates.has(sql)) await new Promise((r) => setImmediate(r));
    gates.get(sql)?.();
  };
  return { db, log, open, most: () => most };
}

describe('serialised state store executor', () => {
  it('starts a statement only when the one before it has ended, in call order, past failures', async () => {
    const g = gatedExecutor();
    const db = serialised(g.db);
    const a = db.query('a');
    const b = db.query('fail b');
    const c = db.query('c');
    await g.open('a');
    await g.open('fail b');
    await g.open('c');
    await expect(a).resolves.toEqual([{ sql: 'a' }]);
    await expect(b).rejects.toThrow('fail b');
    await expect(c).resolves.toEqual([{ sql: 'c' }]);
    expect(g.most()).toBe(1);
    expect(g.log).toEqual(['start a', 'end a', 'start fail b', 'end fail b', 'start c', 'end c']);
  });

  it('closes after the statements still queued, or after a bounded wait when one never ends', async () => {
    const g = gatedExecutor();
    const db = serialised(g.db, 50);
    const a = db.query('a');
    const closed = db.close();
    await g.open('a');
    await a;
    await closed;
    expect(g.log).toEqual(['start a', 'end a', 'close']);

    const h = gatedExecutor();
    const stuck = serialised(h.db, 50);
    void stuck.query('never');
    const t0 = Date.now();
    await stuck.close();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    expect(h.log).toEqual(['start never', 'close']);
  });
});
