/** Recording pre-migration check results in the state store (migration option Validate). */
import type { MigrationConfig } from '../config/types.js';
import type { CheckOutcome } from '../engines/checks.js';
import { summarize } from '../engines/checks.js';
import { redact } from '../util/redact.js';
import type { MigrationRecord, StateStore, ValidationRecord } from '../state/types.js';

export function validationRecords(name: string, outcome: CheckOutcome): ValidationRecord[] {
  const seen = new Set<string>();
  const out: ValidationRecord[] = [];
  for (const c of outcome.checks) {
    // The key is (check, database): a check reported twice for one scope keeps its worst result.
    const key = `${c.id}\0${c.database ?? ''}`;
    if (seen.has(key)) {
      const prev = out.find((r) => `${r.checkId}\0${r.dbname}` === key);
      if (prev && c.result === 'Failed') Object.assign(prev, { result: c.result, message: redact(c.message), hint: redact(c.hint) });
      continue;
    }
    seen.add(key);
    out.push({
      migration: name,
      checkId: c.id,
      level: c.level,
      dbname: c.database ?? '',
      result: c.result,
      message: redact(c.message),
      hint: redact(c.hint),
    });
  }
  return out;
}

/**
 * Stores the results. For option Validate the check is the whole migration: its record ends
 * Succeeded or ValidationFailed (created if needed).
 */
export async function recordValidation(
  store: StateStore,
  cfg: MigrationConfig,
  configFingerprint: string,
  outcome: CheckOutcome,
): Promise<void> {
  await store.ensure();
  await store.replaceValidations(cfg.name, validationRecords(cfg.name, outcome));
  if (cfg.option !== 'Validate') return;
  const failed = summarize(outcome.checks).failed > 0;
  const now = new Date().toISOString();
  const existing = await store.getMigration(cfg.name);
  const patch = {
    state: failed ? ('ValidationFailed' as const) : ('Succeeded' as const),
    substate: failed ? ('Failed' as const) : ('Completed' as const),
    error: failed ? 'pre-migration check failed' : null,
    endedAt: now,
  };
  if (existing) {
    await store.updateMigration(cfg.name, patch);
    return;
  }
  const rec: MigrationRecord = {
    name: cfg.name,
    engine: cfg.engine,
    mode: cfg.mode,
    option: cfg.option,
    method: cfg.method,
    configFingerprint,
    sourceFingerprint: null,
    plan: null,
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    ...patch,
  };
  await store.createMigration(rec);
}
