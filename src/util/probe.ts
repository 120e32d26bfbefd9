/**
 * Test hooks. A run passes named points (`after-schema`, `after-table-3`, `cutover-caught-up`...)
 * to its probe; the reliability tests give one that kills the process, pauses or fails there
 * (test/setup/probed-dbferry.js). The real command line gives `noProbe`: nothing happens.
 */
export interface ProbeIo {
  report?: (line: string) => void;
  signal?: AbortSignal | undefined;
}

export interface Probe {
  /** Whether a test watches this point (a run flushes its batched records before such a point). */
  watches(point: string): boolean;
  /** The run reached `point`: a test's probe may kill the process, wait, or throw here. */
  at(point: string, io?: ProbeIo): Promise<void>;
}

export const noProbe: Probe = {
  watches: () => false,
  at: async () => undefined,
};
