import { describe, expect, it } from 'vitest';
import {
  configureReplica,
  dialectFor,
  globalPrivileges,
  hasPrivileges,
  removeReplicaStatements,
  statusColumns,
  waitForGtidSql,
} from '../../src/engines/mysql/dialect.js';

describe('MySQL / MariaDB dialect', () => {
  it('names replication statements per flavor and version', () => {
    expect(dialectFor('mariadb', 101106).showReplicaStatus).toBe('SHOW SLAVE STATUS');
    expect(dialectFor('mysql', 80035).showReplicaStatus).toBe('SHOW REPLICA STATUS');
    expect(dialectFor('mysql', 80035).resetReplicaAll).toBe('RESET REPLICA ALL');
    expect(dialectFor('mysql', 50744).stopReplica).toBe('STOP SLAVE');
    expect(dialectFor('mariadb', 101106).gtidPositionVariable).toBe('gtid_binlog_pos');
  });
  it('reads global privileges from SHOW GRANTS', () => {
    const held = globalPrivileges([
      'GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `rep`@`%`',
      'GRANT ALL PRIVILEGES ON `shop`.* TO `rep`@`%`',
    ]);
    expect([...held]).toEqual(['SELECT', 'RELOAD', 'REPLICATION SLAVE', 'BINLOG MONITOR']);
    expect(hasPrivileges(held, dialectFor('mariadb', 101106).replicationPrivileges)).toEqual({ ok: true, missing: [] });
    expect(hasPrivileges(new Set(['SELECT']), dialectFor('mysql', 80035).replicationPrivileges)).toEqual({
      ok: false,
      missing: ['REPLICATION SLAVE', 'REPLICATION CLIENT'],
    });
    expect(
      hasPrivileges(globalPrivileges(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION']), [['REPLICATION SLAVE']]).ok,
    ).toBe(true);
  });

  it('configures replication per flavor: MariaDB slave_pos, MySQL 8 auto-position', () => {
    const src = { host: 'h', port: 3306, user: 'rep', password: 'pw', ssl: false };
    expect(configureReplica(dialectFor('mariadb', 101106), src, ['shop', 'crm'], '0-1-42').map((s) => s.sql)).toEqual([
      'SET GLOBAL replicate_do_db = ?',
      'SET GLOBAL gtid_slave_pos = ?',
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos, MASTER_SSL = 0',
      'START SLAVE',
    ]);
    const my = configureReplica(dialectFor('mysql', 80035), { ...src, ssl: true }, ['shop', 'c`rm'], 'uuid:1-42');
    expect(my.map((s) => s.sql)).toEqual([
      'CHANGE REPLICATION FILTER REPLICATE_DO_DB = (`shop`, `c``rm`)',
      "SET GLOBAL gtid_purged = CONCAT('+', ?)",
      'CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PORT = ?, SOURCE_USER = ?, SOURCE_PASSWORD = ?, SOURCE_AUTO_POSITION = 1, SOURCE_SSL = 1',
      'START REPLICA',
    ]);
    expect(my[2]?.params).toEqual(['h', 3306, 'rep', 'pw']);
    expect(removeReplicaStatements(dialectFor('mysql', 80035)).map((s) => s.sql)).toEqual([
      'STOP REPLICA',
      'RESET REPLICA ALL',
      'CHANGE REPLICATION FILTER REPLICATE_DO_DB = ()',
    ]);
    expect(removeReplicaStatements(dialectFor('mariadb', 101106)).map((s) => s.sql)).toContain("SET GLOBAL gtid_slave_pos = ''");
    expect(waitForGtidSql(dialectFor('mysql', 80035))).toBe('SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS w');
    expect(statusColumns(dialectFor('mysql', 80035)).behind).toBe('Seconds_Behind_Source');
    expect(statusColumns(dialectFor('mariadb', 101106)).behind).toBe('Seconds_Behind_Master');
  });
});
