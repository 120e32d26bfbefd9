/**
 * Items one task produces while another consumes them as they come (tables whose schema batch
 * committed, for the copy). Items pushed before the consumer subscribes are kept for it.
 */
export class Handoff<T> {
  private buffered: T[] = [];
  private consumer: ((items: T[]) => void) | undefined;
  private closed = false;
  private onClose: (() => void) | undefined;

  push(items: T[]): void {
    if (this.consumer) this.consumer(items);
    else this.buffered.push(...items);
  }

  /** No more items will come. */
  close(): void {
    this.closed = true;
    this.onClose?.();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  subscribe(consumer: (items: T[]) => void, onClose: () => void): void {
    this.consumer = consumer;
    this.onClose = onClose;
    const early = this.buffered;
    this.buffered = [];
    if (early.length) consumer(early);
    if (this.closed) onClose();
  }
}
