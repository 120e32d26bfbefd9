import { describe, expect, it } from 'vitest';
import { dialectFor, globalPrivileges, hasPrivileges } from '../../src/engines/mysql/dialect.js';

describe('MySQL / MariaDB dialect', () => {
  it('names replication statements per flavor and version', () => {
    expect(dialectFor('mariadb', 101106).showReplicaStatus).toBe('SHOW SLAVE STATUS');
    expect(dialectFor('mysql', 80035).showReplicaStatus).toBe('SHOW REPLICA STATUS');
    expect(dialectFor('mysql', 80035).resetReplicaAll).toBe('RESET REPLICA ALL');
    expect(dialectFor('mysql', 50744).stopReplica).toBe('STOP SLAVE');
    expect(dialectFor('mariadb', 101106).gtidPositionVariable).toBe('gtid_binlog_pos');
  });
  it('reads global privileges from SHOW GRANTS', () => {
    const held = globalPrivileges(["GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `rep`@`%`", 'GRANT ALL PRIVILEGES ON `shop`.* TO `rep`@`%`']);
    expect([...held]).toEqual(['SELECT', 'RELOAD', 'REPLICATION SLAVE', 'BINLOG MONITOR']);
    expect(hasPrivileges(held, dialectFor('mariadb', 101106).replicationPrivileges)).toEqual({ ok: true, missing: [] });
    expect(hasPrivileges(new Set(['SELECT']), dialectFor('mysql', 80035).replicationPrivileges)).toEqual({ ok: false, missing: ['REPLICATION SLAVE', 'REPLICATION CLIENT'] });
    expect(hasPrivileges(globalPrivileges(['GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION']), [['REPLICATION SLAVE']]).ok).toBe(true);
  });
});
