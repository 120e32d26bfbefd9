/** What the MySQL/MariaDB pre-migration check needs, read-only, a few queries per server. */
import type { MigrationConfig } from '../../config/types.js';
import type { Discovery } from '../engine.js';
import { failureOf, readSide, type ConnectFailure } from '../checks.js';
import { connectMysql, rows, withMysql, type MyConnection } from './connect.js';
import { discoverMysql } from './discover.js';
import { RAW_TYPES } from './dialect.js';

export interface MySide {
  connected: true;
  version: string;
  flavor: 'mariadb' | 'mysql';
  versionNum: number;
  user: string;
  ssl: boolean;
  vars: Record<string, string | null>;
  grants: string[];
  /** user@host accounts, when readable (for DEFINER checks). */
  accounts: string[] | null;
}

export type MySideOrFailure = MySide | { connected: false; failure: ConnectFailure };

export interface MyDbFacts {
  name: string;
  nonInnodb: string[];
  noKey: string[];
  definers: string[];
  /** Copied columns whose type is not one of the plain raw-copied types (checked against the dialect). */
  unusualColumns: { table: string; column: string; type: string }[];
}

export interface MyFacts {
  source: MySideOrFailure;
  target: MySideOrFailure;
  discovery: Discovery | null;
  discoveryFailure: ConnectFailure | null;
  databases: MyDbFacts[];
}

const VARS = [
  'server_id',
  'log_bin',
  'binlog_format',
  'binlog_row_image',
  'gtid_mode',
  'gtid_strict_mode',
  'gtid_binlog_pos',
  'lower_case_table_names',
  'sql_mode',
  'expire_logs_days',
  'binlog_expire_logs_seconds',
  'server_uuid',
  'hostname',
  'port',
  'read_only',
];

async function side(c: MyConnection): Promise<MySide> {
  const [v] = await rows<{ v: string; u: string }>(c, 'SELECT VERSION() AS v, CURRENT_USER() AS u');
  const version = v?.v ?? '0.0.0';
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  const versionNum = m ? Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]) : 0;
  const varRows = await rows<{ Variable_name: string; Value: string }>(
    c,
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${VARS.map(() => '?').join(', ')})`,
    VARS,
  );
  const vars: Record<string, string | null> = Object.fromEntries(VARS.map((k) => [k, null]));
  for (const r of varRows) vars[r.Variable_name] = r.Value;
  const sslRow = await rows<{ Value: string }>(c, "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
  const grants = (await rows<Record<string, string>>(c, 'SHOW GRANTS')).map((r) => Object.values(r)[0] ?? '');
  let accounts: string[] | null = null;
  try {
    accounts = (await rows<{ a: string }>(c, "SELECT CONCAT(User, '@', Host) AS a FROM mysql.user")).map((r) => r.a);
  } catch {
    accounts = null;
  }
  return {
    connected: true,
    version,
    flavor: /mariadb/i.test(version) ? 'mariadb' : 'mysql',
    versionNum,
    user: v?.u ?? '?',
    ssl: (sslRow[0]?.Value ?? '') !== '',
    vars,
    grants,
    accounts,
  };
}

function tolerant(role: 'source' | 'target', cfg: MigrationConfig): Promise<MySideOrFailure> {
  return readSide(() => connectMysql(role, cfg[role]), side);
}

/** One query per kind for all selected databases at once. */
async function dbFacts(c: MyConnection, dbs: string[]): Promise<MyDbFacts[]> {
  if (dbs.length === 0) return [];
  const engines = await rows<{ s: string; t: string; e: string }>(
    c,
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?) AND TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB' ORDER BY 1, 2`,
    [dbs],
  );
  const nokey = await rows<{ s: string; t: string }>(
    c,
    `SELECT t.TABLE_SCHEMA AS s, t.TABLE_NAME AS t FROM information_schema.TABLES t
      WHERE t.TABLE_SCHEMA IN (?) AND t.TABLE_TYPE = 'BASE TABLE'
        AND NOT EXISTS (SELECT 1 FROM information_schema.TABLE_CONSTRAINTS k WHERE k.TABLE_SCHEMA = t.TABLE_SCHEMA AND k.TABLE_NAME = t.TABLE_NAME AND k.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE'))
      ORDER BY 1, 2`,
    [dbs],
  );
  const definers = await rows<{ s: string; d: string }>(
    c,
    `SELECT ROUTINE_SCHEMA AS s, DEFINER AS d FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (?)
     UNION SELECT TABLE_SCHEMA, DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (?)
     UNION SELECT TRIGGER_SCHEMA, DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (?)
     UNION SELECT EVENT_SCHEMA, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?)`,
    [dbs, dbs, dbs, dbs],
  );
  const unusual = await rows<{ s: string; t: string; c: string; ty: string }>(
    c,
    `SELECT c.TABLE_SCHEMA AS s, c.TABLE_NAME AS t, c.COLUMN_NAME AS c, c.DATA_TYPE AS ty FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
      WHERE c.TABLE_SCHEMA IN (?) AND c.EXTRA NOT LIKE '%GENERATED%' AND LOWER(c.DATA_TYPE) NOT IN (?) ORDER BY 1, 2, c.ORDINAL_POSITION`,
    [dbs, [...RAW_TYPES]],
  );
  return dbs.map((name) => ({
    name,
    nonInnodb: engines.filter((r) => r.s === name).map((r) => `${r.t} (${r.e})`),
    noKey: nokey.filter((r) => r.s === name).map((r) => r.t),
    definers: [...new Set(definers.filter((r) => r.s === name).map((r) => r.d))].sort(),
    unusualColumns: unusual.filter((r) => r.s === name).map((r) => ({ table: r.t, column: r.c, type: r.ty })),
  }));
}

export async function gatherMysqlFacts(cfg: MigrationConfig, signal?: AbortSignal): Promise<MyFacts> {
  const [source, target] = await Promise.all([tolerant('source', cfg), tolerant('target', cfg)]);
  let discovery: Discovery | null = null;
  let discoveryFailure: ConnectFailure | null = null;
  let databases: MyDbFacts[] = [];
  if (source.connected && target.connected) {
    try {
      discovery = await discoverMysql(cfg, signal);
      const names = discovery.databases.map((d) => d.source.name);
      databases = await withMysql('source', cfg.source, {}, (c) => dbFacts(c, names));
    } catch (e) {
      if (signal?.aborted) throw e;
      discoveryFailure = failureOf(e);
    }
  }
  return { source, target, discovery, discoveryFailure, databases };
}
