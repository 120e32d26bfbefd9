/** The canonical, normalised migration config every later stage works with. */
export type Engine = 'postgresql' | 'mysql';
export type Mode = 'offline' | 'online';
export type MigrationOption = 'Validate' | 'Migrate' | 'ValidateAndMigrate';
export type Method = 'auto' | 'replication' | 'dump';
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export type VerifyMode = 'auto' | 'checksums' | 'counts' | 'none';
export type ConfigForm = 'canonical' | 'aiven' | 'azure';
export type PasswordSource = 'yaml' | 'uri' | 'env' | 'pgpass' | 'none';

export const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface ConnectionConfig {
  host: string;
  port: number;
  user: string;
  /** Never printed; registered with the redactor when loaded. */
  password: string | undefined;
  passwordSource: PasswordSource;
  /** Maintenance / bootstrap database (PostgreSQL); undefined for MySQL. */
  dbname: string | undefined;
  ssl: SslMode;
  sslrootcert: string | undefined;
  sslcert: string | undefined;
  sslkey: string | undefined;
  /** SSH tunnel (bastion) every connection to this server goes through. */
  ssh?: SshConfig | undefined;
  /** Set at run time while a tunnel is open: where connections actually go. Never part of the plan. */
  tunnel?: { host: string; port: number };
}

export interface SshConfig {
  host: string;
  port: number;
  user: string;
  /** Absolute path, resolved against the YAML file. */
  privateKeyFile: string | undefined;
  /** Key text (secret: registered with the redactor). */
  privateKey: string | undefined;
  passphrase: string | undefined;
  agent: boolean;
  /** Absolute path of the known_hosts file. */
  knownHosts: string;
}

/** A table reference from tables.include / tables.skip, identifiers already folded. */
export interface TableRef {
  db: string | undefined;
  schema: string | undefined;
  table: string;
  /** As written in the YAML, for messages. */
  text: string;
  /** Parts written in quotes (db, schema, table): matched literally even with * or ? in them. */
  quoted?: { db: boolean; schema: boolean; table: boolean };
}

export interface MigrationConfig {
  version: 1;
  name: string;
  engine: Engine;
  mode: Mode;
  option: MigrationOption;
  method: Method;
  source: ConnectionConfig;
  target: ConnectionConfig;
  databases: { include: string[]; exclude: string[]; overwrite: boolean; maxTotalSize: number | null };
  roles: { migrate: boolean; exclude: string[] };
  /** PostgreSQL schema names or glob patterns; empty include: every schema. */
  schemas: { include: string[]; exclude: string[] };
  tables: { include: TableRef[]; skip: TableRef[] };
  extensions: { exclude: string[] };
  /** maxLag: bytes for PostgreSQL, seconds for MySQL. */
  replication: { maxLag: number; replicaIdentityFull: boolean };
  cutover: boolean;
  /** Webhook URLs notified of state changes (secrets: redacted in every output). */
  notify: { webhooks: string[] };
  /** Azure dbsToTriggerCutoverOn; empty = all. */
  cutoverDatabases: string[];
  /** Azure `cancel` / dbsToCancelMigrationOn. */
  cancel: { requested: boolean; databases: string[] };
  /** maxRate: bytes per second over all copy streams; null: no limit. */
  copy: {
    jobs: number;
    splitTablesLargerThan: number;
    maxRate: number | null;
    /** PostgreSQL: conditions on the source that pause the copy while they hold. */
    pauseWhen: { sourceConnectionsAbove: number | null; standbyLagAbove: number | null };
  };
  verify: VerifyMode;
  /** verify: auto checksums tables above this size (bytes) on a sample of key ranges. */
  verifySampleAbove: number;
}

export interface LoadedConfig {
  config: MigrationConfig;
  form: ConfigForm;
  /** Absolute path of the YAML file. */
  file: string;
  /** Files the config references (sslrootcert...), watched by plan --watch. */
  referencedFiles: string[];
  warnings: import('../util/errors.js').Diagnostic[];
}
