/** Pre-migration check results shared by both engines. Pure. */
import type { CheckResultValue } from '../state/types.js';
import { DbferryError } from '../util/errors.js';
import type { MigrationConfig } from '../config/types.js';

export interface CheckResult {
  /** Stable id, e.g. `pg.wal_level`. */
  id: string;
  level: 'instance' | 'database';
  database: string | null;
  result: CheckResultValue;
  /** One line: what was measured and what is required. */
  message: string;
  /** How to fix it (empty when Succeeded). */
  hint: string;
  /** Only a prerequisite of the replication method: under `method: auto` its failure falls back to dump. */
  replication: boolean;
}

export interface MethodDecision {
  method: 'dump' | 'replication';
  reason: string;
  /** method auto chose dump because a replication prerequisite failed. */
  fellBack?: boolean;
}

export interface CheckOutcome {
  checks: CheckResult[];
  /** Per database: the method that will be used and why. */
  decisions: Record<string, MethodDecision>;
}

export const ok = (id: string, message: string, opts: Partial<CheckResult> = {}): CheckResult => ({
  id,
  level: 'instance',
  database: null,
  result: 'Succeeded',
  message,
  hint: '',
  replication: false,
  ...opts,
});
export const warn = (id: string, message: string, hint: string, opts: Partial<CheckResult> = {}): CheckResult => ({
  ...ok(id, message, opts),
  result: 'Warning',
  hint,
});
export const fail = (id: string, message: string, hint: string, opts: Partial<CheckResult> = {}): CheckResult => ({
  ...ok(id, message, opts),
  result: 'Failed',
  hint,
});

/**
 * Applies the configured method to raw results: under `auto`, a failed replication prerequisite
 * becomes a Warning and sends its database(s) to dump, with the reason; under `replication` it
 * stays Failed; for an offline or dump migration replication checks are dropped.
 */
export function decideMethods(
  raw: CheckResult[],
  databases: string[],
  mode: 'offline' | 'online',
  method: 'auto' | 'replication' | 'dump',
): CheckOutcome {
  const decisions: Record<string, MethodDecision> = {};
  if (mode === 'offline' || method === 'dump') {
    const reason = mode === 'offline' ? 'mode offline: a one-time consistent copy' : 'method: dump (configured)';
    for (const d of databases) decisions[d] = { method: 'dump', reason };
    return { checks: raw.filter((c) => !c.replication), decisions };
  }
  if (method === 'replication') {
    for (const d of databases) decisions[d] = { method: 'replication', reason: 'method: replication (configured)' };
    return { checks: raw, decisions };
  }
  const checks = raw.map((c) =>
    c.replication && c.result === 'Failed'
      ? { ...c, result: 'Warning' as const, message: `${c.message} (replication not possible${c.database ? '' : ''}: falls back to dump)` }
      : c,
  );
  for (const d of databases) {
    const blocker = raw.find((c) => c.replication && c.result === 'Failed' && (c.database === null || c.database === d));
    decisions[d] = blocker
      ? { method: 'dump', reason: `method auto fell back to dump: ${blocker.message}`, fellBack: true }
      : { method: 'replication', reason: 'method auto: every replication prerequisite passed' };
  }
  return { checks, decisions };
}

export function summarize(checks: CheckResult[]): { succeeded: number; warnings: number; failed: number } {
  return {
    succeeded: checks.filter((c) => c.result === 'Succeeded').length,
    warnings: checks.filter((c) => c.result === 'Warning').length,
    failed: checks.filter((c) => c.result === 'Failed').length,
  };
}

/** A server the check could not reach, and why. */
export interface ConnectFailure {
  message: string;
  hint: string;
  code: string;
}

export function failureOf(e: unknown): ConnectFailure {
  if (e instanceof DbferryError) return { message: e.message, hint: e.hint ?? '', code: e.code };
  return { message: String((e as Error)?.message ?? e), hint: '', code: 'UNKNOWN' };
}

/** Connects and reads one side's facts; a failure to connect is recorded, never thrown. */
export async function readSide<C extends { end(): Promise<unknown> }, S>(
  connect: () => Promise<C>,
  read: (c: C) => Promise<S>,
): Promise<S | { connected: false; failure: ConnectFailure }> {
  let c: C;
  try {
    c = await connect();
  } catch (e) {
    return { connected: false, failure: failureOf(e) };
  }
  try {
    return await read(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * `<prefix>.db.target_empty`: the target database must be absent or empty, unless this migration
 * started it (resume) or databases.overwrite replaces it. The same rule for both engines.
 */
export function targetEmptyCheck(
  prefix: 'pg' | 'my',
  d: { name: string; exists: boolean; userObjects: number | null },
  overwrite: boolean,
  resume: { phase: string; what: string } | undefined,
): CheckResult {
  const D = { level: 'database' as const, database: d.name };
  const id = `${prefix}.db.target_empty`;
  if (resume) return ok(id, `target database was started by an earlier run of this migration (phase ${resume.phase}): ${resume.what}`, D);
  if (!d.exists || (d.userObjects ?? 0) === 0)
    return ok(id, d.exists ? 'target database exists and is empty' : 'target database does not exist yet', D);
  if (overwrite)
    return warn(
      id,
      `target database has ${d.userObjects} objects and will be DROPPED and recreated (overwrite: true)`,
      'Remove databases.overwrite to keep it.',
      D,
    );
  return fail(
    id,
    `target database "${d.name}" exists with ${d.userObjects} objects`,
    'Empty or drop it, or set databases.overwrite: true to replace it.',
    D,
  );
}

/**
 * `<prefix>.<role>.ssh_tunnel`: which servers dbferry reaches through SSH, and what a tunnel cannot
 * do: in online mode the target server itself connects to the source (subscription / binlog
 * replica), and dbferry's tunnel exists only on the machine that runs dbferry.
 */
export function sshTunnelChecks(prefix: 'pg' | 'my', cfg: MigrationConfig, online: boolean): CheckResult[] {
  const out: CheckResult[] = [];
  for (const role of ['source', 'target'] as const) {
    const ssh = cfg[role].ssh;
    if (!ssh) continue;
    const via = `${ssh.user}@${ssh.host}:${ssh.port}`;
    if (role === 'source' && online)
      out.push(
        fail(
          `${prefix}.source.ssh_tunnel`,
          `online mode needs the target server itself to connect to the source (${prefix === 'pg' ? 'its subscription' : 'its binlog replica'}), but the source is reached only through dbferry's SSH tunnel via ${via}, which the target server cannot use`,
          'Options: make the source reachable from the target server (VPC peering, private link, a firewall rule for its outbound address) and keep the tunnel for dbferry; or set mode: offline (or method: dump) to copy through the tunnel; or run dbferry on a host inside the network.',
        ),
      );
    else
      out.push(
        ok(
          `${prefix}.${role}.ssh_tunnel`,
          `${role} reached through an SSH tunnel via ${via} (host key verified against ${ssh.knownHosts})`,
        ),
      );
  }
  return out;
}
