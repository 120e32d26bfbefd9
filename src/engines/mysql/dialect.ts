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
      replicationPrivileges: [['REPLICATION SLAVE'], versionNum >= 100502 ? ['BINLOG MONITOR', 'REPLICATION CLIENT', 'SUPER'] : ['REPLICATION CLIENT', 'SUPER']],
      replicaAdminPrivileges: versionNum >= 100502 ? [['REPLICATION SLAVE ADMIN', 'SUPER'], ['SLAVE MONITOR', 'REPLICATION SLAVE ADMIN', 'SUPER']] : [['SUPER']],
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
