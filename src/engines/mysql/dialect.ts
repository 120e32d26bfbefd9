/**
 * MySQL 8 and MariaDB differences the engine needs, in one place: privilege names, GTID and
 * replication statements. Pure.
 */
export type Flavor = 'mariadb' | 'mysql';

export interface Dialect {
  flavor: Flavor;
  /** Privileges a source user needs to replicate (any one name of each group suffices). */
  replicationPrivileges: string[][];
  /** Privileges the target user needs to configure replication. */
  replicaAdminPrivileges: string[][];
  showReplicaStatus: string;
  stopReplica: string;
  startReplica: string;
  resetReplicaAll: string;
  /** The variable with the GTID position of a snapshot. */
  gtidPositionVariable: string;
}

export function dialectFor(flavor: Flavor, versionNum: number): Dialect {
  if (flavor === 'mariadb') {
    return {
      flavor,
      replicationPrivileges: [
        ['REPLICATION SLAVE'],
        versionNum >= 100502 ? ['BINLOG MONITOR', 'REPLICATION CLIENT', 'SUPER'] : ['REPLICATION CLIENT', 'SUPER'],
      ],
      replicaAdminPrivileges:
        versionNum >= 100502
          ? [
              ['REPLICATION SLAVE ADMIN', 'SUPER'],
              ['SLAVE MONITOR', 'REPLICATION SLAVE ADMIN', 'SUPER'],
            ]
          : [['SUPER']],
      showReplicaStatus: 'SHOW SLAVE STATUS',
      stopReplica: 'STOP SLAVE',
      startReplica: 'START SLAVE',
      resetReplicaAll: 'RESET SLAVE ALL',
      gtidPositionVariable: 'gtid_binlog_pos',
    };
  }
  const modern = versionNum >= 80022;
  return {
    flavor,
    replicationPrivileges: [['REPLICATION SLAVE'], ['REPLICATION CLIENT', 'SUPER']],
    replicaAdminPrivileges: [['REPLICATION_SLAVE_ADMIN', 'SUPER']],
    showReplicaStatus: modern ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS',
    stopReplica: modern ? 'STOP REPLICA' : 'STOP SLAVE',
    startReplica: modern ? 'START REPLICA' : 'START SLAVE',
    resetReplicaAll: modern ? 'RESET REPLICA ALL' : 'RESET SLAVE ALL',
    gtidPositionVariable: 'gtid_executed',
  };
}

/** Privileges granted globally (ON *.*), from SHOW GRANTS lines. */
export function globalPrivileges(grants: string[]): Set<string> {
  const out = new Set<string>();
  for (const g of grants) {
    const m = /^GRANT (.+?) ON \*\.\* TO /i.exec(g);
    if (!m) continue;
    for (const p of (m[1] as string).split(',')) out.add(p.trim().toUpperCase());
  }
  return out;
}

/** Whether every group has at least one privilege held (ALL PRIVILEGES holds them all). */
export function hasPrivileges(held: Set<string>, groups: string[][]): { ok: boolean; missing: string[] } {
  if (held.has('ALL PRIVILEGES') || held.has('ALL')) return { ok: true, missing: [] };
  const missing = groups.filter((g) => !g.some((p) => held.has(p))).map((g) => g[0] as string);
  return { ok: missing.length === 0, missing };
}

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface ReplicaSource {
  host: string;
  port: number;
  user: string;
  password: string;
  ssl: boolean;
}

/** Statements that point the target at the source from a GTID position, filtered to the databases. */
export function configureReplica(d: Dialect, src: ReplicaSource, dbs: string[], gtid: string): Statement[] {
  const ssl = src.ssl ? 1 : 0;
  if (d.flavor === 'mariadb') {
    return [
      { sql: 'SET GLOBAL replicate_do_db = ?', params: [dbs.join(',')] },
      { sql: 'SET GLOBAL gtid_slave_pos = ?', params: [gtid] },
      {
        sql: `CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_SSL = ${ssl}`,
        params: [src.host, src.port, src.user, src.password],
      },
      { sql: d.startReplica, params: [] },
    ];
  }
  // MySQL: the target's executed set must contain the snapshot's GTIDs so auto-positioning starts after them.
  return [
    { sql: `CHANGE REPLICATION FILTER REPLICATE_DO_DB = (${dbs.map((x) => '`' + x.replace(/`/g, '``') + '`').join(', ')})`, params: [] },
    { sql: "SET GLOBAL gtid_purged = CONCAT('+', ?)", params: [gtid] },
    {
      sql: `CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, SOURCE_AUTO_POSITION = 1, SOURCE_SSL = ${ssl}`,
      params: [src.host, src.port, src.user, src.password],
    },
    { sql: d.startReplica, params: [] },
  ];
}

/** Statements that stop replication and remove every trace of its configuration. */
export function removeReplicaStatements(d: Dialect): Statement[] {
  if (d.flavor === 'mariadb') {
    return [
      { sql: d.stopReplica, params: [] },
      { sql: d.resetReplicaAll, params: [] },
      { sql: "SET GLOBAL replicate_do_db = ''", params: [] },
      { sql: "SET GLOBAL gtid_slave_pos = ''", params: [] },
    ];
  }
  return [
    { sql: d.stopReplica, params: [] },
    { sql: d.resetReplicaAll, params: [] },
    { sql: 'CHANGE REPLICATION FILTER REPLICATE_DO_DB = ()', params: [] },
  ];
}

/** A query returning 0 once the target has executed `gtid` (waiting at most `seconds`). */
export function waitForGtidSql(d: Dialect): string {
  return d.flavor === 'mariadb' ? 'SELECT MASTER_GTID_WAIT(?, ?) AS w' : 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS w';
}

/** Column names of SHOW SLAVE/REPLICA STATUS. */
export function statusColumns(d: Dialect): { host: string; port: string; io: string; sql: string; behind: string } {
  return d.flavor === 'mysql' && d.showReplicaStatus === 'SHOW REPLICA STATUS'
    ? { host: 'Source_Host', port: 'Source_Port', io: 'Replica_IO_Running', sql: 'Replica_SQL_Running', behind: 'Seconds_Behind_Source' }
    : { host: 'Master_Host', port: 'Master_Port', io: 'Slave_IO_Running', sql: 'Slave_SQL_Running', behind: 'Seconds_Behind_Master' };
}

/**
 * How a column's values travel from SELECT to LOAD DATA ... CHARACTER SET binary:
 * - raw: the source's bytes as they are (numbers, strings, blobs, temporals, BIT, ENUM/SET,
 *   geometry in its internal form, MariaDB JSON, which is LONGTEXT);
 * - text: the bytes are the value's text form but the column refuses a binary string (MariaDB
 *   UUID/INET4/INET6, MySQL 8 JSON), so they are loaded into a variable and converted to utf8mb4.
 * Any other type is not known to round-trip: null, and the check fails naming the column.
 */
export type TransferForm = 'raw' | 'text';

export const RAW_TYPES = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'bit',
  'bool',
  'boolean',
  'char',
  'varchar',
  'binary',
  'varbinary',
  'tinytext',
  'text',
  'mediumtext',
  'longtext',
  'tinyblob',
  'blob',
  'mediumblob',
  'longblob',
  'enum',
  'set',
  'date',
  'time',
  'datetime',
  'timestamp',
  'year',
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
]);

export function transferForm(flavor: Flavor, dataType: string): TransferForm | null {
  const t = dataType.toLowerCase();
  if (RAW_TYPES.has(t)) return 'raw';
  if (flavor === 'mariadb' && (t === 'uuid' || t === 'inet4' || t === 'inet6')) return 'text';
  if (t === 'json') return flavor === 'mysql' ? 'text' : 'raw';
  return null;
}
