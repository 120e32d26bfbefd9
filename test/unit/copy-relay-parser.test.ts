/**
 * The COPY relay's reading of the source's byte stream, without servers: a recorded-style stream
 * of two COPYs (with a notice and messages of 0 to 70,000 bytes) cut at every byte offset, and in
 * many small pieces. Whatever the cuts, the target receives exactly the CopyData and CopyDone
 * messages, byte for byte and in order, and the counts and bytes per COPY are right.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { PgClient } from '../../src/engines/postgres/connect.js';
import { relayCopies, RelayError } from '../../src/engines/postgres/copy-relay.js';

const msg = (type: string, body: Buffer | string): Buffer => {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(b.length + 4, 1);
  return Buffer.concat([head, b]);
};
const data = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));

const copy1 = [data(0, 1), data(1, 2), data(3, 3), data(100, 4), data(70000, 5)].map((d) => msg('d', d));
const copy2 = [data(7, 6), data(4096, 7)].map((d) => msg('d', d));
const copyDone = msg('c', '');
/** What the backend sends for `COPY a TO STDOUT; COPY b TO STDOUT`. */
const backend = Buffer.concat([
  msg('H', Buffer.from([1, 0, 1, 0, 1])),
  ...copy1.slice(0, 2),
  msg('N', 'SNOTICE\0Mhello\0\0'),
  ...copy1.slice(2),
  copyDone,
  msg('C', 'COPY 5\0'),
  msg('H', Buffer.from([1, 0, 1, 0, 1])),
  ...copy2,
  copyDone,
  msg('C', 'COPY 2\0'),
  msg('Z', 'T'),
]);
/** What the target must receive: the CopyData and CopyDone messages, as they were. */
const expected = Buffer.concat([...copy1, copyDone, ...copy2, copyDone]);

class FakeStream extends EventEmitter {
  readonly written: Buffer[] = [];
  write(b: Buffer): boolean {
    this.written.push(Buffer.from(b));
    return true;
  }
  pause(): void {}
  resume(): void {}
  destroy(): void {}
}

interface Query {
  submit(c: unknown): void;
  handleCommandComplete(m: { text: string }): void;
  handleReadyForQuery(): void;
  handleError(e: unknown): void;
}

/** A client whose socket is `stream`; pg's own reader of the stream, for what the relay hands back, understands C, Z and E. */
function fakeClient(stream: FakeStream): { client: PgClient; active(): Query | undefined } {
  let active: Query | undefined;
  let pending = Buffer.alloc(0);
  stream.on('data', (b: Buffer) => {
    pending = Buffer.concat([pending, b]);
    while (pending.length >= 5 && pending.length >= 1 + pending.readUInt32BE(1)) {
      const len = pending.readUInt32BE(1);
      const type = String.fromCharCode(pending[0] as number);
      const body = pending.subarray(5, 1 + len);
      pending = pending.subarray(1 + len);
      if (type === 'C') active?.handleCommandComplete({ text: body.toString('utf8').replace(/\0$/, '') });
      if (type === 'Z') active?.handleReadyForQuery();
      if (type === 'E') active?.handleError(new Error('source error'));
    }
  });
  const connection = { stream, query: () => undefined };
  const client = {
    connection,
    query(q: Query) {
      active = q;
      q.submit(connection);
      return q;
    },
  };
  return { client: client as unknown as PgClient, active: () => active };
}

async function relayIn(pieces: Buffer[]): Promise<{ sent: Buffer; result: Awaited<ReturnType<typeof relayCopies>>; bytes: number }> {
  const srcStream = new FakeStream();
  const tgtStream = new FakeStream();
  const src = fakeClient(srcStream);
  const tgt = fakeClient(tgtStream);
  let bytes = 0;
  const running = relayCopies(src.client, tgt.client, 'COPY a TO STDOUT; COPY b TO STDOUT', 'COPY a FROM STDIN; COPY b FROM STDIN', 2, {
    onBytes: (n) => (bytes += n),
  });
  for (const p of pieces) srcStream.emit('data', p);
  const target = tgt.active() as Query;
  target.handleCommandComplete({ text: 'COPY 5' });
  target.handleCommandComplete({ text: 'COPY 2' });
  target.handleReadyForQuery();
  return { sent: Buffer.concat(tgtStream.written), result: await running, bytes };
}

describe('the COPY relay reads the source stream', () => {
  it('passes on exactly the CopyData and CopyDone messages wherever one cut falls', async () => {
    for (let at = 0; at <= backend.length; at += at < 400 || at > backend.length - 400 ? 1 : 997) {
      const { sent, result, bytes } = await relayIn([backend.subarray(0, at), backend.subarray(at)]);
      expect(sent.equals(expected), `cut at ${at}`).toBe(true);
      expect(result.copies.map((c) => [c.rowsSent, c.rowsLoaded])).toEqual([
        [5, 5],
        [2, 2],
      ]);
      expect(result.copies.map((c) => c.bytes)).toEqual([70104, 4103]);
      expect(bytes).toBe(70104 + 4103);
    }
  });

  it('and in pieces of 1 to 7 bytes', async () => {
    const pieces: Buffer[] = [];
    for (let i = 0, k = 0; i < backend.length; k++) {
      const n = 1 + (k % 7);
      pieces.push(backend.subarray(i, i + n));
      i += n;
    }
    const { sent, result } = await relayIn(pieces);
    expect(sent.equals(expected)).toBe(true);
    expect(result.committed).toBe(0);
    expect(result.copies[1]).toEqual({ rowsSent: 2, rowsLoaded: 2, bytes: 4103 });
  });

  it("a target failure after the first COPY: the source is read on to that COPY's row count, then dropped", async () => {
    const srcStream = new FakeStream();
    const tgtStream = new FakeStream();
    const src = fakeClient(srcStream);
    const tgt = fakeClient(tgtStream);
    const running = relayCopies(src.client, tgt.client, 'COPY a TO STDOUT; COPY b TO STDOUT', 'COPY a FROM STDIN; COPY b FROM STDIN', 2, {
      onBytes: () => undefined,
    }).catch((e: unknown) => e);
    const end = backend.indexOf(copyDone, 6) + copyDone.length;
    // The first COPY and its CopyDone, and half a message of the second: the target commits the first unit, then fails.
    srcStream.emit('data', backend.subarray(0, end));
    const target = tgt.active() as Query;
    target.handleCommandComplete({ text: 'COPY 5' });
    target.handleCommandComplete({ text: 'COMMIT' });
    target.handleError(new Error('target failed'));
    // The next read comes later, as a socket's does (the relay has stopped passing data on by then).
    await new Promise((r) => setImmediate(r));
    srcStream.emit('data', backend.subarray(end, end + 40));
    const e = (await running) as RelayError;
    expect(e).toBeInstanceOf(RelayError);
    expect(e.outcome.committed).toBe(1);
    expect(e.outcome.copies[0]).toMatchObject({ rowsSent: 5, rowsLoaded: 5 });
    expect(e.sourceDropped).toBe(true);
    // Nothing after the first CopyDone reached the target.
    expect(Buffer.concat(tgtStream.written).equals(Buffer.concat([...copy1, copyDone]))).toBe(true);
  });
});
