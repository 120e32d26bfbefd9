import type { Probe } from '../../src/util/probe.js';
export function probeFromEnv(env: Record<string, string | undefined>, failure: (message: string) => Error): Probe;
