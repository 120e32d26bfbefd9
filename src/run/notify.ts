/**
 * Webhook notifications (`notify.webhooks`): a JSON document per state change, POSTed to each URL
 * with a Slack-compatible `text` field, retried with backoff. A notification never blocks or fails
 * the migration: delivery runs beside it, and `flush` waits a bounded time at the end.
 */
import { redact } from '../util/redact.js';

export type NotifyEvent = 'started' | 'copied' | 'waiting_for_cutover' | 'lag_under_max' | 'failed' | 'succeeded' | 'canceled';

export interface Notification {
  event: NotifyEvent;
  migration: string;
  state: string;
  substate: string;
  /** One line for people (Slack shows `text`). */
  text: string;
  at: string;
  databases?: string[];
  error?: string | null;
}

export interface Notifier {
  send(n: Omit<Notification, 'at'>): void;
  /** Waits for deliveries under way, at most `ms`. */
  flush(ms?: number): Promise<void>;
}

const DELAYS_MS = [500, 1000, 2000];

async function deliver(url: string, body: string, fetchImpl: typeof fetch): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return;
      if (res.status < 500 && res.status !== 429) return;
    } catch {
      /* network error: retried */
    }
    const delay = DELAYS_MS[attempt];
    if (delay === undefined) return;
    await new Promise((r) => setTimeout(r, delay));
  }
}

export function createNotifier(webhooks: readonly string[], fetchImpl: typeof fetch = fetch): Notifier {
  // One queue per URL: each receives the events in the order they happened.
  const queues = new Map<string, Promise<void>>();
  return {
    send(n) {
      const body = redact(JSON.stringify({ ...n, at: new Date().toISOString() }));
      for (const url of webhooks) {
        const next = (queues.get(url) ?? Promise.resolve()).then(() => deliver(url, body, fetchImpl)).catch(() => undefined);
        queues.set(url, next);
      }
    },
    async flush(ms = 10_000) {
      await Promise.race([Promise.all(queues.values()), new Promise((r) => setTimeout(r, ms).unref())]);
    },
  };
}
