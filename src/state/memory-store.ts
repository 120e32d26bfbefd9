/**
 * A state store in memory: the same contract as the SQL store, for unit tests of registration,
 * conflicts and resume. Nothing outlives the process.
 */
import {
  ACTIVE_STATES,
  type DatabaseRecord,
  type MigrationRecord,
  type StateStore,
  type StepRecord,
  type TableRecord,
  type ValidationRecord,
} from './types.js';

const byKey = <T>(m: Map<string, T>, prefix: string): T[] =>
  [...m.entries()]
    .filter(([k]) => k.startsWith(prefix))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, v]) => v);

export class MemoryStateStore implements StateStore {
  readonly location = 'memory';
  private created = false;
  private readonly migrations = new Map<string, MigrationRecord>();
  private readonly databases = new Map<string, DatabaseRecord>();
  private readonly tables = new Map<string, TableRecord>();
  private readonly steps = new Map<string, StepRecord>();
  private validations = new Map<string, ValidationRecord[]>();
  private readonly locks = new Set<string>();

  async exists(): Promise<boolean> {
    return this.created;
  }
  async ensure(): Promise<void> {
    this.created = true;
  }
  async listMigrations(filter: 'active' | 'all'): Promise<MigrationRecord[]> {
    const all = [...this.migrations.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return filter === 'all' ? all : all.filter((m) => ACTIVE_STATES.includes(m.state));
  }
  async getMigration(name: string): Promise<MigrationRecord | undefined> {
    return this.migrations.get(name);
  }
  async getDatabases(name: string): Promise<DatabaseRecord[]> {
    return byKey(this.databases, `${name}\u0000`);
  }
  async getTables(name: string, dbname?: string): Promise<TableRecord[]> {
    return byKey(this.tables, dbname === undefined ? `${name}\u0000` : `${name}\u0000${dbname}\u0000`);
  }
  async getValidations(name: string): Promise<ValidationRecord[]> {
    return this.validations.get(name) ?? [];
  }
  async createMigration(rec: MigrationRecord): Promise<boolean> {
    this.created = true;
    if (this.migrations.has(rec.name)) return false;
    this.migrations.set(rec.name, rec);
    return true;
  }
  async updateMigration(name: string, patch: Partial<Omit<MigrationRecord, 'name' | 'createdAt'>>): Promise<void> {
    const current = this.migrations.get(name);
    if (!current) throw new Error(`migration ${name} is not recorded`);
    this.migrations.set(name, { ...current, ...patch, updatedAt: patch.updatedAt ?? new Date().toISOString() });
  }
  async upsertDatabase(rec: DatabaseRecord): Promise<void> {
    this.databases.set(`${rec.migration}\u0000${rec.dbname}`, rec);
  }
  async upsertTables(recs: TableRecord[]): Promise<void> {
    for (const r of recs) this.tables.set(`${r.migration}\u0000${r.dbname}\u0000${r.schema}\u0000${r.table}`, r);
  }
  async replaceValidations(name: string, recs: ValidationRecord[]): Promise<void> {
    this.validations.set(name, recs);
  }
  async getSteps(name: string): Promise<StepRecord[]> {
    return byKey(this.steps, `${name}\u0000`);
  }
  async recordStep(rec: StepRecord): Promise<void> {
    this.steps.set(`${rec.migration}\u0000${rec.dbname}\u0000${rec.step}`, rec);
  }
  async resetSteps(name: string, dbname: string): Promise<void> {
    for (const k of this.steps.keys()) if (k.startsWith(`${name}\u0000${dbname}\u0000`)) this.steps.delete(k);
  }
  async resetTables(name: string, dbname: string): Promise<void> {
    for (const k of this.tables.keys()) if (k.startsWith(`${name}\u0000${dbname}\u0000`)) this.tables.delete(k);
  }
  async tryLock(name: string): Promise<boolean> {
    if (this.locks.has(name)) return false;
    this.locks.add(name);
    return true;
  }
  async unlock(name: string): Promise<void> {
    this.locks.delete(name);
  }
  async withRegistrationLock<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }
  async close(): Promise<void> {}
}
