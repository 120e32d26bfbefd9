/**
 * Table units between schema-pre-data and copy-data: the schema connection hands a unit to the
 * copy workers and, before an entry that depends on it, waits until a worker has committed it.
 */
import { DbferryError } from '../../../util/errors.js';
import { tableKey } from './context.js';

interface Pending {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class UnitTracker {
  private readonly units = new Map<string, Pending>();
  private failure: unknown;

  /** A unit handed to the copy workers. */
  expect(schema: string, name: string): void {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.units.set(tableKey(schema, name), { promise, resolve, reject });
    if (this.failure !== undefined) reject(this.failure);
  }

  /** A worker committed the unit: its table exists, filled and indexed. */
  created(schema: string, name: string): void {
    this.units.get(tableKey(schema, name))?.resolve();
  }

  /** The copy failed: nothing waits any longer. */
  fail(e: unknown): void {
    this.failure ??= e;
    for (const u of this.units.values()) u.reject(e);
  }

  /** Waits until these units (or every unit handed out, without a list) are committed. */
  async whenCreated(tables?: readonly { schema: string; name: string }[]): Promise<void> {
    const keys = tables ? tables.map((t) => tableKey(t.schema, t.name)) : [...this.units.keys()];
    await Promise.all(
      keys.map(
        (k) => this.units.get(k)?.promise ?? Promise.reject(new DbferryError('MIGRATION_FAILED', 'a table unit was never handed out')),
      ),
    );
  }
}
