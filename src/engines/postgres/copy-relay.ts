/**
 * The COPY relay: one query of `COPY ... TO STDOUT` statements on the source, one query holding as
 * many `COPY ... FROM STDIN` on the target, and the source's CopyData and CopyDone messages passed
 * to the target as they arrive, byte for byte. A backend's CopyData message and a frontend's have
 * the same form, so nothing is decoded or copied: each socket read becomes at most a few writes of
 * slices of it. The source's other messages (CopyOutResponse, CommandComplete with the row count,
 * notices) are read here and not forwarded.
 *
 * Several COPYs in one round trip is what makes small tables cheap: a batch of table units is one
 * source query and one target query (each unit `BEGIN; CREATE ...; COPY ...; indexes; COMMIT`),
 * not a few round trips per table. The target may receive a COPY's data before it reaches that
 * COPY (it reads nothing between statements), and drops what it receives after an error, as the
 * protocol says for a simple query.
 */
import { EventEmitter } from 'node:events';
import type { RateLimiter } from '../../util/rate-limit.js';
import type { PgClient } from './connect.js';

export interface RelayIo {
  /** Payload bytes of CopyData passed on (called per socket read). */
  onBytes(n: number): void;
  limiter?: RateLimiter | undefined;
}

/** One COPY of the relay: rows the source's COPY sent, rows the target's COPY loaded, payload bytes. */
export interface RelayedCopy {
  rowsSent: number;
  rowsLoaded: number;
  bytes: number;
}

export interface RelayOutcome {
  copies: RelayedCopy[];
  /** COMMITs the target query completed (table units committed, in order). */
  committed: number;
}

/** A failed relay: the cause, and what completed before it (units committed before the failure stay committed). */
export class RelayError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly outcome: RelayOutcome,
    /** The source connection was dropped mid-COPY: open another. */
    readonly sourceDropped: boolean,
  ) {
    super((cause as Error)?.message ?? String(cause));
    this.name = 'RelayError';
  }
}

interface PgConnection {
  stream: NodeJS.ReadWriteStream & { write(b: Buffer): boolean; cork?(): void; uncork?(): void; destroy?(): void };
  query(text: string): void;
}

interface PgMessage {
  text?: string;
}

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COMMAND_COMPLETE = 0x43; // 'C'
const ERROR_RESPONSE = 0x45; // 'E'

const copyRows = (tag: string | undefined): number | null => {
  const m = /^COPY (\d+)/.exec(tag ?? '');
  return m ? Number(m[1]) : null;
};

/**
 * A query object pg runs (it calls `submit` and the `handle*` methods): settled at
 * ReadyForQuery, or failed at an error (pg sends nothing more of the query then).
 */
abstract class RelayQuery extends EventEmitter {
  settled = false;
  readonly done: Promise<void>;
  private settle!: (e?: unknown) => void;

  constructor(readonly text: string) {
    super();
    this.on('error', () => undefined);
    this.done = new Promise((resolve, reject) => (this.settle = (e) => (e === undefined ? resolve() : reject(e))));
    this.done.catch(() => undefined);
  }

  /** pg sets its query timeout through this; nothing else calls it. */
  callback(): void {}
  handleCopyInResponse(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  abstract handleCommandComplete(msg: PgMessage): void;

  handleError(e: unknown): void {
    this.settled = true;
    this.emit('error', e);
    this.settle(e);
  }

  handleReadyForQuery(): void {
    this.settled = true;
    this.settle();
  }
}

/** The target's query: pg reports its statements' results here; the relay writes the data to its socket itself. */
class TargetQuery extends RelayQuery {
  connection: PgConnection | null = null;
  readonly rowsLoaded: number[] = [];
  committed = 0;

  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleCommandComplete(msg: PgMessage): void {
    const rows = copyRows(msg.text);
    if (rows !== null) this.rowsLoaded.push(rows);
    else if (msg.text === 'COMMIT') this.committed++;
  }
}

/**
 * The source's query. It takes the connection's socket from pg's parser while the copies stream,
 * and gives it back (with what is left of the last read) at the last CopyDone or at an error, so
 * pg reads the final CommandComplete and ReadyForQuery itself.
 */
class SourceQuery extends RelayQuery {
  private connection: PgConnection | null = null;
  private pgHandler: ((b: Buffer) => void) | null = null;
  readonly rowsSent: number[] = [];
  readonly bytes: number[] = [];
  private copiesDone = 0;
  /** Bytes of the message under way still to come (its body), and whether it is passed on. */
  private remaining = 0;
  private forwarding = false;
  /** A message header split across reads, and the body of a message read here (CommandComplete). */
  private header: Buffer | null = null;
  private body: Buffer[] | null = null;
  private bodyType = 0;
  /** Set when the target failed and the source was dropped. */
  private stopped = false;
  /** Reasons the source's socket is paused (the target's socket full, the rate limit). */
  private holds = 0;
  /** The socket is pg's again (after the last CopyDone or an error). */
  private handedBack = false;
  /** A half-passed message was completed for the target. */
  private padded = false;
  private readonly onData = (chunk: Buffer): void => this.read(chunk);

  constructor(
    text: string,
    private readonly copies: number,
    private readonly target: TargetQuery,
    private readonly io: RelayIo,
  ) {
    super(text);
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    // pg's own reader, the stream's one 'data' listener (relayCopies checked there is one).
    this.pgHandler = connection.stream.listeners('data')[0] as (b: Buffer) => void;
    connection.stream.removeListener('data', this.pgHandler);
    connection.stream.on('data', this.onData);
    connection.query(this.text);
  }

  handleCommandComplete(msg: PgMessage): void {
    const rows = copyRows(msg.text);
    if (rows !== null) this.rowsSent.push(rows);
    this.checkCounted();
  }

  override handleError(e: unknown): void {
    // The target's COPY would wait for data forever: fail it (ignored if the target is past its COPYs).
    if (this.target.connection && !this.target.settled && !this.stopped) {
      this.completePartialMessage();
      sendCopyFail(this.target.connection, 'the source failed during COPY');
    }
    super.handleError(e);
    this.checkCounted();
  }

  override handleReadyForQuery(): void {
    super.handleReadyForQuery();
    this.checkCounted();
  }

  /**
   * The target failed: stop passing data on, then drop the source connection (it is mid-COPY).
   * First the source is read until the row count of every COPY whose CopyDone was passed on has
   * come (it follows that CopyDone), as the target may have committed those units.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.completePartialMessage();
    const drop = (): void => {
      this.connection?.stream.removeListener('data', this.onData);
      this.connection?.stream.destroy?.();
    };
    if (this.settled || this.rowsSent.length >= this.copiesDone || !this.connection) {
      drop();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.counted?.(), 5000);
      this.counted = () => {
        clearTimeout(timer);
        this.counted = undefined;
        drop();
        resolve();
      };
      this.connection?.stream.resume();
    });
  }

  /** Set while stop() waits for row counts. */
  private counted: (() => void) | undefined;

  private checkCounted(): void {
    if (this.counted && (this.settled || this.rowsSent.length >= this.copiesDone)) this.counted();
  }

  private read(chunk: Buffer): void {
    const out: Buffer[] = [];
    let from = -1; // start of the run of bytes passed on from this chunk
    let payload = 0;
    let i = 0;
    const endRun = (end: number): void => {
      if (from >= 0 && end > from) out.push(chunk.subarray(from, end));
      from = -1;
    };
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        if (!this.forwarding) this.body?.push(chunk.subarray(i, i + n));
        else if (from < 0) from = i;
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.endOfMessage();
        continue;
      }
      // A message header: 1 type byte and a 4-byte length that counts itself; it may span two reads.
      const at = i;
      let header: Buffer;
      if (this.header === null && chunk.length - i >= 5) {
        header = chunk.subarray(i, i + 5);
        i += 5;
      } else {
        const take = Math.min(5 - (this.header?.length ?? 0), chunk.length - i);
        header = Buffer.concat([this.header ?? Buffer.alloc(0), chunk.subarray(i, i + take)]);
        i += take;
        endRun(at);
        if (header.length < 5) {
          this.header = header;
          continue;
        }
        this.header = null;
      }
      const split = i - at < 5;
      const type = header[0] as number;
      const length = header.readUInt32BE(1);
      if (type === ERROR_RESPONSE) {
        // pg reads the error and ReadyForQuery itself (and fails the query: see handleError).
        endRun(at);
        return this.handBack(out, payload, split ? Buffer.concat([header, chunk.subarray(i)]) : chunk.subarray(at));
      }
      this.remaining = length - 4;
      if (type === COPY_DATA || type === COPY_DONE) {
        this.forwarding = true;
        if (split) out.push(header);
        else if (from < 0) from = at;
        if (type === COPY_DATA) {
          payload += length - 4;
          this.bytes[this.copiesDone] = (this.bytes[this.copiesDone] ?? 0) + length - 4;
        } else if (++this.copiesDone === this.copies) {
          // After the last CopyDone pg reads the last CommandComplete and ReadyForQuery.
          endRun(i);
          this.forwarding = false;
          return this.handBack(out, payload, chunk.subarray(i));
        }
      } else {
        endRun(at);
        this.forwarding = false;
        this.bodyType = type;
        this.body = [];
      }
      if (this.remaining === 0) this.endOfMessage();
    }
    endRun(chunk.length);
    this.pass(out, payload);
  }

  private endOfMessage(): void {
    if (!this.forwarding && this.bodyType === COMMAND_COMPLETE && this.body) {
      const tag = Buffer.concat(this.body).toString('utf8').replace(/\0$/, '');
      const rows = copyRows(tag);
      if (rows !== null) this.rowsSent.push(rows);
      this.checkCounted();
    }
    this.body = null;
    this.forwarding = false;
  }

  /**
   * Writes the runs to the target at once (so what the target has is always this stream's prefix);
   * holds the source while the target's socket is full and while the rate limit waits for the
   * tokens these bytes took.
   */
  private pass(out: Buffer[], payload: number): void {
    if (this.stopped) return;
    if (payload > 0) this.io.onBytes(payload);
    const tgt = this.target.connection?.stream;
    if (out.length === 0 || !tgt) return;
    let ok = true;
    if (out.length > 1) tgt.cork?.();
    for (const b of out) ok = tgt.write(b);
    if (out.length > 1) tgt.uncork?.();
    if (!ok) {
      this.hold();
      tgt.once('drain', () => this.release());
    }
    const limiter = this.io.limiter;
    if (limiter && payload > 0) {
      this.hold();
      limiter.take(payload).then(
        () => this.release(),
        (e: unknown) => {
          void this.stop();
          this.handleError(e);
        },
      );
    }
  }

  private hold(): void {
    this.holds++;
    if (!this.handedBack) this.connection?.stream.pause();
  }

  /** A wait ended; the last one resumes the socket, unless it is pg's again (or dropped): a late rate-limit wait must not resume the next relay's reads. */
  private release(): void {
    if (--this.holds === 0 && !this.stopped && !this.handedBack) this.connection?.stream.resume();
  }

  /**
   * Completes a CopyData message the target has only part of (the source stopped mid-message),
   * with zero bytes: otherwise the target would read what comes next as the rest of it. Inside
   * a COPY they cannot end it (CopyFail follows); after a failed COPY the target drops them.
   */
  private completePartialMessage(): void {
    // Once: the parser's own state is left as it is (after stop() the source is still read, to its row counts).
    if (this.padded) return;
    this.padded = true;
    if (this.forwarding && this.remaining > 0) this.target.connection?.stream.write(Buffer.alloc(this.remaining));
  }

  private handBack(out: Buffer[], payload: number, rest: Buffer): void {
    const stream = this.connection?.stream;
    this.pass(out, payload);
    this.handedBack = true;
    if (!stream || !this.pgHandler) return;
    stream.removeListener('data', this.onData);
    stream.on('data', this.pgHandler);
    if (rest.length > 0) this.pgHandler(rest);
    process.nextTick(() => stream.resume());
  }
}

function sendCopyFail(c: PgConnection, message: string): void {
  const text = Buffer.from(`${message}\0`, 'utf8');
  const m = Buffer.alloc(5 + text.length);
  m[0] = 0x66; // 'f'
  m.writeUInt32BE(4 + text.length, 1);
  text.copy(m, 5);
  c.stream.write(m);
}

/**
 * Runs `sourceSql` (`copies` COPY TO STDOUT statements) on src and `targetSql` (as many COPY FROM
 * STDIN, among other statements) on tgt, passing the data across. The source client must be idle
 * (inside its snapshot transaction); the target's statements run in the target query's own terms.
 */
export async function relayCopies(
  src: PgClient,
  tgt: PgClient,
  sourceSql: string,
  targetSql: string,
  copies: number,
  io: RelayIo,
): Promise<RelayOutcome> {
  if (copies < 1) throw new Error('a COPY relay needs at least one COPY');
  // Checked before the target's query is sent: a failure after it would leave the target waiting in a COPY.
  const dataListeners = (src as unknown as { connection: PgConnection }).connection.stream.listeners('data').length;
  if (dataListeners !== 1) throw new Error(`the source connection has ${dataListeners} data listeners, expected 1`);
  const target = new TargetQuery(targetSql);
  const source = new SourceQuery(sourceSql, copies, target, io);
  const outcome = (): RelayOutcome => ({
    copies: Array.from({ length: copies }, (_, i) => ({
      rowsSent: source.rowsSent[i] ?? 0,
      rowsLoaded: target.rowsLoaded[i] ?? 0,
      bytes: source.bytes[i] ?? 0,
    })),
    committed: target.committed,
  });
  (tgt as unknown as { query(q: unknown): unknown }).query(target);
  // pg hands an idle client's query its connection at once; a busy one would queue it, and the data would have nowhere to go.
  if (!target.connection) throw new Error('the target connection is busy');
  (src as unknown as { query(q: unknown): unknown }).query(source);
  // Settled when both queries are, or as soon as the target fails (the source is dropped then).
  let sourceFailure: unknown;
  let targetFailure: unknown;
  let sourceSettled = false;
  await new Promise<void>((resolve) => {
    let left = 2;
    const one = (): void => {
      if (--left === 0) resolve();
    };
    source.done.then(
      () => ((sourceSettled = true), one()),
      (e: unknown) => ((sourceFailure ??= e), (sourceSettled = true), one()),
    );
    target.done.then(one, (e: unknown) => {
      targetFailure = e;
      if (sourceSettled) resolve();
      else void source.stop().then(resolve);
    });
  });
  if (sourceFailure !== undefined && targetFailure === undefined) throw new RelayError(sourceFailure, outcome(), false);
  if (targetFailure !== undefined) throw new RelayError(sourceFailure ?? targetFailure, outcome(), !sourceSettled);
  return outcome();
}
