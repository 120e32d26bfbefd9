/**
 * A small work pool: N workers, each owning a resource (e.g. a pair of connections), taking jobs
 * from a queue that may grow while it runs; urgent jobs jump the queue. The first failure stops
 * the pool and is rethrown once every running job has settled.
 */
export interface PoolJob<R> {
  label: string;
  run(resource: R): Promise<void>;
}

export interface PoolOptions<R> {
  workers: number;
  create(): Promise<R>;
  /** Called for each resource at the end; `failed` when the pool stopped on an error. */
  release(resource: R, failed: boolean): Promise<void>;
  /** Called at once for every live resource when the signal aborts (e.g. destroy connections). */
  interrupt?(resource: R): void;
  signal?: AbortSignal;
  /** Create each worker's resource at once rather than with its first job (the first jobs start sooner). */
  eager?: boolean;
}

export class WorkPool<R> {
  private readonly queue: PoolJob<R>[] = [];
  private readonly urgent: PoolJob<R>[] = [];
  private failure: unknown;
  private waiting: (() => void)[] = [];
  private pending = 0;
  private closed = false;

  constructor(private readonly opts: PoolOptions<R>) {}

  add(job: PoolJob<R>, urgent = false): void {
    (urgent ? this.urgent : this.queue).push(job);
    this.wake();
  }

  /** True once a job failed, fail() was called or the signal aborted: producers should stop. */
  get stopped(): boolean {
    return this.failure !== undefined || this.opts.signal?.aborted === true;
  }

  /** Stops the pool with an error from outside its jobs (e.g. the producer feeding it failed). */
  fail(e: unknown): void {
    if (this.failure === undefined) this.failure = e;
    this.wake();
  }

  /** No more jobs will be added once the queue drains. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }

  private async next(): Promise<PoolJob<R> | undefined> {
    for (;;) {
      if (this.failure !== undefined || this.opts.signal?.aborted) return undefined;
      const job = this.urgent.shift() ?? this.queue.shift();
      if (job) return job;
      if (this.closed && this.pending === 0) return undefined;
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  async run(): Promise<void> {
    const live = new Set<R>();
    const onAbort = (): void => {
      for (const r of live) this.opts.interrupt?.(r);
      this.wake();
    };
    this.opts.signal?.addEventListener('abort', onAbort, { once: true });
    const acquire = async (): Promise<R> => {
      const r = await this.opts.create();
      live.add(r);
      return r;
    };
    const worker = async (): Promise<void> => {
      let resource: R | undefined;
      try {
        if (this.opts.eager) {
          try {
            resource = await acquire();
          } catch (e) {
            if (this.failure === undefined) this.failure = e;
            this.wake();
            return;
          }
        }
        for (;;) {
          const job = await this.next();
          if (!job) break;
          this.pending++;
          try {
            resource ??= await acquire();
            await job.run(resource);
          } catch (e) {
            if (this.failure === undefined) this.failure = e;
          } finally {
            this.pending--;
            this.wake();
          }
        }
      } finally {
        if (resource !== undefined) await this.opts.release(resource, this.failure !== undefined).catch(() => undefined);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, this.opts.workers) }, worker));
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort);
    }
    this.opts.signal?.throwIfAborted();
    if (this.failure !== undefined) throw this.failure;
  }
}
