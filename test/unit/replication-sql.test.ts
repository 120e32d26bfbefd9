import { describe, expect, it } from 'vitest';
import {
  createPublicationSql,
  keylessPublicationName,
  ownObjectNames,
  createSubscriptionSql,
  dropSubscriptionSql,
  replicationObjectName,
  replicationPrefix,
  subscriptionConninfo,
} from '../../src/engines/postgres/replication-sql.js';
import type { ConnectionConfig } from '../../src/config/types.js';

describe('replication objects', () => {
  it('names are slot-safe, <= 63 bytes, stable, and distinct for different inputs', () => {
    expect(replicationObjectName('orders', 'billing')).toBe('dbferry_orders_billing');
    const odd = replicationObjectName('Orders-To-New', 'Bill "ing" ü');
    expect(odd).toMatch(/^dbferry_orders_to_new_bill_ing_[0-9a-f]{8}$/);
    expect(odd.startsWith(replicationPrefix('Orders-To-New'))).toBe(true);
    const long = replicationObjectName('m'.repeat(50), 'd'.repeat(63));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9_]+$/);
    expect(replicationObjectName('a-b', 'c')).not.toBe(replicationObjectName('a_b', 'c'));
  });

  it('writes publication and subscription SQL, the conninfo quoted', () => {
    expect(createPublicationSql('p', [{ schema: 'Odd S', name: 't"1' }])).toBe('CREATE PUBLICATION "p" FOR TABLE "Odd S"."t""1"');
    const c: ConnectionConfig = {
      host: 'db.example',
      port: 5432,
      user: 'rep',
      password: "pa ss'\\",
      passwordSource: 'yaml',
      dbname: 'postgres',
      ssl: 'require',
      sslrootcert: undefined,
      sslcert: undefined,
      sslkey: undefined,
    };
    const info = subscriptionConninfo(c, 'my db');
    expect(info).toBe(
      "host=db.example port=5432 user=rep dbname='my db' sslmode=require application_name=dbferry_subscription password='pa ss\\'\\\\'",
    );
    expect(createSubscriptionSql('s', 'host=h')).toBe(
      `CREATE SUBSCRIPTION "s" CONNECTION 'host=h' PUBLICATION "s", "s_k" WITH (create_slot = false, slot_name = 's', copy_data = false, enabled = true)`,
    );
    expect(dropSubscriptionSql('s')).toEqual([
      'ALTER SUBSCRIPTION "s" DISABLE',
      'ALTER SUBSCRIPTION "s" SET (slot_name = NONE)',
      'DROP SUBSCRIPTION "s"',
    ]);
  });
});

describe('a migration owns exactly the objects it names', () => {
  it('app and app-2 share a name prefix but no object', () => {
    const app = ownObjectNames('app', ['db', '2_db', 'shop']);
    const app2 = ownObjectNames('app-2', ['db', 'shop']);
    expect([...app].filter((n) => app2.has(n))).toEqual([]);
    expect(app.has(replicationObjectName('app', 'db'))).toBe(true);
    expect(app.has(keylessPublicationName(replicationObjectName('app', 'shop')))).toBe(true);
    expect(app.has(replicationObjectName('app-2', 'db'))).toBe(false);
  });
});
