/**
 * Running pg_dump as a child process. The password never appears on its command line or in its
 * environment: it is written to a private temporary .pgpass (mode 0600) removed afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionConfig } from '../../config/types.js';
import { DbferryError } from '../../util/errors.js';
import { redact } from '../../util/redact.js';

const escapePgpass = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

/** libpq environment for a child process: PG* variables of ours only. */
export function childEnv(conn: ConnectionConfig, database: string, pgpassFile: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  // Through a tunnel libpq connects to PGHOSTADDR (the tunnel) but checks the certificate
  // (verify-full) and looks up passwords against PGHOST, the server's own name.
  env.PGHOST = conn.host;
  if (conn.tunnel) env.PGHOSTADDR = conn.tunnel.host;
  env.PGPORT = String(conn.tunnel?.port ?? conn.port);
  env.PGUSER = conn.user;
  env.PGDATABASE = database;
  env.PGSSLMODE = conn.ssl;
  env.PGAPPNAME = 'dbferry-pg_dump';
  env.PGCONNECT_TIMEOUT = '15';
  if (conn.sslrootcert) env.PGSSLROOTCERT = conn.sslrootcert;
  if (conn.sslcert) env.PGSSLCERT = conn.sslcert;
  if (conn.sslkey) env.PGSSLKEY = conn.sslkey;
  if (pgpassFile) env.PGPASSFILE = pgpassFile;
  return env;
}

export async function runPgDump(
  tool: string,
  conn: ConnectionConfig,
  database: string,
  args: string[],
  signal?: AbortSignal,
): Promise<string> {
  let dir: string | undefined;
  let pgpass: string | undefined;
  if (conn.password !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'dbferry-'));
    pgpass = join(dir, 'pgpass');
    writeFileSync(
      pgpass,
      `${escapePgpass(conn.host)}:${conn.tunnel?.port ?? conn.port}:*:${escapePgpass(conn.user)}:${escapePgpass(conn.password)}\n`,
      {
        mode: 0o600,
      },
    );
  }
  try {
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(tool, ['--no-password', ...args], {
        env: childEnv(conn, database, pgpass),
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(signal ? { signal } : {}),
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('error', (e) =>
        reject(new DbferryError('CHILD_PROCESS_FAILED', `pg_dump could not run: ${redact(e.message)}`, { cause: e })),
      );
      child.on('close', (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else {
          const msg = redact(err.trim().split('\n').slice(0, 3).join(' / ') || `exit code ${code}`);
          reject(
            new DbferryError('CHILD_PROCESS_FAILED', `pg_dump of database "${database}" failed: ${msg}`, {
              hint: 'The source must be reachable and the user must be able to read every object in the database.',
            }),
          );
        }
      });
    });
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
