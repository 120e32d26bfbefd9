/** Tables' done marks, written in batches: one lost in a crash only means that table is copied again. */
import type { StateStore, TableRecord } from '../../../state/types.js';

export class TableMarks {
  private marks: TableRecord[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly store: StateStore) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), 500);
  }

  add(mark: TableRecord): void {
    this.marks.push(mark);
    if (this.marks.length >= 100) void this.flush().catch(() => undefined);
  }

  flush(): Promise<void> {
    const batch = this.marks;
    this.marks = [];
    if (batch.length) this.flushing = this.flushing.then(() => this.store.upsertTables(batch));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
