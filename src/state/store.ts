/**
 * The state store on the target server, one implementation for both engines over a minimal
 * query executor (PostgreSQL: schema `dbferry` in the maintenance database; MySQL: database
 * `dbferry`). Reading never creates anything; the first write does.
 */
import { DbferryError, messageOf } from '../util/errors.js';
import {
  ACTIVE_STATES,
  type DatabaseRecord,
  type MigrationRecord,
  type StateStore,
  type StepRecord,
  type TableRecord,
  type ValidationRecord,
} from './types.js';
import {
  createStatements,
  deleteStatement,
  fromRow,
  isPresent,
  presentStatement,
  selectStatement,
  toRow,
  upsertStatement,
  type Dialect,
} from './schema.js';

export interface SqlExecutor {
  readonly dialect: Dialect;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * One statement at a time on the store's one connection: steps running in parallel record their
 * progress at once, and a client given a query while it runs one only queues it (pg deprecates that).
 */
export function serialised(db: SqlExecutor, closeWaitMs = 2000): SqlExecutor {
  let last: Promise<unknown> = Promise.resolve();
  return {
    dialect: db.dialect,
    query: (sql, params) => {
      const next = last.then(() => db.query(sql, params));
      last = next.catch(() => undefined);
      return next;
    },
    // Statements still queued get a moment to finish (mysql2 sends its Quit after what it already
    // has), but no more: one may wait on a lock another process holds.
    close: async () => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([last, new Promise((resolve) => (timer = setTimeout(resolve, closeWaitMs).unref()))]);
      clearTimeout(timer);
      await db.close();
    },
  };
}

export class SqlStateStore implements StateStore {
  private ensured = false;
  private readonly db: SqlExecutor;

  constructor(
    db: SqlExecutor,
    readonly location: string,
    /** How long MySQL waits for a store-wide lock before giving up (PostgreSQL waits as long as it takes). */
    private readonly lockWaitSeconds = 60,
  ) {
    this.db = serialised(db);
  }

  private get d(): Dialect {
    return this.db.dialect;
  }

  async exists(): Promise<boolean> {
    const rows = await this.db.query(presentStatement(this.d));
    return isPresent(rows[0]?.present);
  }

  async ensure(): Promise<void> {
    if (this.ensured) return;
    // Two processes creating the store at once would race on the catalog (IF NOT EXISTS is not
    // atomic in PostgreSQL): the creation is serialised by a lock of its own.
    try {
      await this.withLock(' store', async () => {
        for (const sql of createStatements(this.d)) await this.db.query(sql);
      });
    } catch (e) {
      if (!/permission denied|access denied|command denied/i.test(messageOf(e))) throw e;
      const where = this.d === 'postgresql' ? 'the schema dbferry in the connection database' : 'the database dbferry';
      throw new DbferryError('MIGRATION_FAILED', `the state store could not be created on the ${this.location}: ${messageOf(e)}`, {
        hint:
          this.d === 'postgresql'
            ? `dbferry keeps its state in ${where}. Grant the target user CREATE on that database, or set target.dbname to a database it owns (Aiven: defaultdb).`
            : `dbferry keeps its state in ${where}. Grant the target user CREATE on it (GRANT ALL ON dbferry.* TO ...).`,
      });
    }
    this.ensured = true;
  }

  async listMigrations(filter: 'active' | 'all'): Promise<MigrationRecord[]> {
    if (!(await this.exists())) return [];
    const rows = await this.db.query(selectStatement(this.d, 'migrations', [], ['created_at', 'name']));
    const all = rows.map((r) => fromRow<MigrationRecord>('migrations', r));
    return filter === 'all' ? all : all.filter((m) => ACTIVE_STATES.includes(m.state));
  }

  async getMigration(name: string): Promise<MigrationRecord | undefined> {
    if (!(await this.exists())) return undefined;
    const rows = await this.db.query(selectStatement(this.d, 'migrations', ['name']), [name]);
    return rows[0] ? fromRow<MigrationRecord>('migrations', rows[0]) : undefined;
  }

  async getDatabases(name: string): Promise<DatabaseRecord[]> {
    if (!(await this.exists())) return [];
    const rows = await this.db.query(selectStatement(this.d, 'databases', ['migration'], ['dbname']), [name]);
    return rows.map((r) => fromRow<DatabaseRecord>('databases', r));
  }

  async getTables(name: string, dbname?: string): Promise<TableRecord[]> {
    if (!(await this.exists())) return [];
    const where = dbname === undefined ? ['migration'] : ['migration', 'dbname'];
    const params = dbname === undefined ? [name] : [name, dbname];
    const rows = await this.db.query(selectStatement(this.d, 'tables', where, ['dbname', 'schema_name', 'table_name']), params);
    return rows.map((r) => fromRow<TableRecord>('tables', r));
  }

  async getValidations(name: string): Promise<ValidationRecord[]> {
    if (!(await this.exists())) return [];
    const rows = await this.db.query(selectStatement(this.d, 'validations', ['migration'], ['level', 'dbname', 'check_id']), [name]);
    return rows.map((r) => fromRow<ValidationRecord>('validations', r));
  }

  async createMigration(rec: MigrationRecord): Promise<boolean> {
    await this.ensure();
    const rows = await this.db.query(
      upsertStatement(this.d, 'migrations', false) + (this.d === 'postgresql' ? ' RETURNING 1 AS inserted' : ''),
      toRow('migrations', rec),
    );
    if (this.d === 'postgresql') return rows.length === 1;
    const res = rows as unknown as { affectedRows?: number };
    return (res.affectedRows ?? 0) === 1;
  }

  async updateMigration(name: string, patch: Partial<Omit<MigrationRecord, 'name' | 'createdAt'>>): Promise<void> {
    const current = await this.getMigration(name);
    if (!current) throw new Error(`migration ${name} is not recorded`);
    const next = { ...current, ...patch, updatedAt: patch.updatedAt ?? new Date().toISOString() };
    await this.db.query(upsertStatement(this.d, 'migrations'), toRow('migrations', next));
  }

  async upsertDatabase(rec: DatabaseRecord): Promise<void> {
    await this.ensure();
    await this.db.query(upsertStatement(this.d, 'databases'), toRow('databases', rec));
  }

  async upsertTables(recs: TableRecord[]): Promise<void> {
    if (recs.length === 0) return;
    await this.ensure();
    await this.upsertMany('tables', recs);
  }

  async replaceValidations(name: string, recs: ValidationRecord[]): Promise<void> {
    await this.ensure();
    await this.db.query(deleteStatement(this.d, 'validations', ['migration']), [name]);
    await this.upsertMany('validations', recs);
  }

  /** Records of one table, up to 500 per statement (one round trip each, not one per record); their keys must differ. */
  private async upsertMany(table: 'tables' | 'validations', recs: (TableRecord | ValidationRecord)[]): Promise<void> {
    for (let i = 0; i < recs.length; i += 500) {
      const chunk = recs.slice(i, i + 500);
      await this.db.query(
        upsertStatement(this.d, table, true, chunk.length),
        chunk.flatMap((r) => toRow(table, r)),
      );
    }
  }

  async getSteps(name: string): Promise<StepRecord[]> {
    if (!(await this.exists())) return [];
    const rows = await this.db.query(selectStatement(this.d, 'steps', ['migration'], ['dbname', 'step_id']), [name]);
    return rows.map((r) => fromRow<StepRecord>('steps', r));
  }

  async recordStep(rec: StepRecord): Promise<void> {
    await this.ensure();
    await this.db.query(upsertStatement(this.d, 'steps'), toRow('steps', rec));
  }

  async resetSteps(name: string, dbname: string): Promise<void> {
    if (!(await this.exists())) return;
    await this.db.query(deleteStatement(this.d, 'steps', ['migration', 'dbname']), [name, dbname]);
  }

  async resetTables(name: string, dbname: string): Promise<void> {
    if (!(await this.exists())) return;
    await this.db.query(deleteStatement(this.d, 'tables', ['migration', 'dbname']), [name, dbname]);
  }

  async tryLock(name: string): Promise<boolean> {
    const rows =
      this.d === 'postgresql'
        ? await this.db.query(`SELECT pg_try_advisory_lock(hashtext('dbferry'), hashtext($1)) AS locked`, [name])
        : await this.db.query(`SELECT GET_LOCK(?, 0) AS locked`, [`dbferry:${name}`]);
    const v = rows[0]?.locked;
    return v === true || Number(v) === 1;
  }

  /**
   * Runs `fn` holding the store-wide registration lock (waits for it), so two different
   * migrations registering at once cannot both claim one target database. The lock's name has a
   * space, which no migration name may contain.
   */
  async withRegistrationLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.withLock(' registration', fn);
  }

  /**
   * Runs `fn` holding a store-wide lock, waiting for it (names with a space never clash with a
   * migration's). MySQL's GET_LOCK gives up after `lockWaitSeconds`: then `fn` does not run.
   */
  private async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.d === 'postgresql') await this.db.query(`SELECT pg_advisory_lock(hashtext('dbferry'), hashtext($1))`, [name]);
    else {
      const rows = await this.db.query(`SELECT GET_LOCK(?, ?) AS locked`, [`dbferry:${name}`, this.lockWaitSeconds]);
      if (Number(rows[0]?.locked) !== 1) {
        throw new DbferryError(
          'LOCKED',
          `another dbferry process has held the state store's ${name.trim()} lock on the ${this.location} for ${this.lockWaitSeconds} s`,
          { hint: 'Run `dbferry status` to see what is running, or try again when it has finished.' },
        );
      }
    }
    try {
      return await fn();
    } finally {
      await this.unlock(name).catch(() => undefined);
    }
  }

  async unlock(name: string): Promise<void> {
    if (this.d === 'postgresql') await this.db.query(`SELECT pg_advisory_unlock(hashtext('dbferry'), hashtext($1))`, [name]);
    else await this.db.query(`SELECT RELEASE_LOCK(?)`, [`dbferry:${name}`]);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
