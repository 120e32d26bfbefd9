/** vitest globalSetup for both projects: one temporary root for every test file, removed at the end. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string | undefined;

export function setup(): void {
  root = mkdtempSync(join(tmpdir(), 'dbferry-run-'));
  // Test workers inherit the environment: tempDir() creates everything below this root.
  process.env.DBFERRY_TEST_TMP = root;
}

export function teardown(): void {
  if (root) rmSync(root, { recursive: true, force: true });
}
