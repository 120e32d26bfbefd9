// Generates schemas/migration.schema.json. Kept as code so the three forms share definitions;
// run `npm run gen:schema` after editing; a unit test checks the committed file is current.
import { writeFileSync } from 'node:fs';

const SIZE = '^\\s*[0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]i?[bB]|[bB])?\\s*$';
const sizeOrBytes = (description, def) => ({
  description,
  default: def,
  type: ['integer', 'string'],
  minimum: 0,
  pattern: SIZE,
  'x-expected': 'a size such as 512MB, 2GB or a number of bytes',
});

const connection = {
  type: 'object',
  default: {},
  description:
    'How to reach a server: either `uri`, or `host`/`port`/`username`/`password`/`dbname`/`ssl`. Missing parts come from the environment as libpq (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ~/.pgpass) or the mysql client (MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD) would take them.',
  additionalProperties: false,
  properties: {
    uri: {
      type: 'string',
      description:
        'Connection URI, e.g. postgres://user@host:5432/postgres?sslmode=require or mysql://user@host:3306. Its scheme sets the engine when `engine` is omitted. Put the password in `password` or the environment, not here.',
      default: '',
    },
    host: { type: 'string', description: 'Host name or IP address.', default: 'localhost' },
    port: { type: 'integer', minimum: 1, maximum: 65535, description: 'TCP port (PostgreSQL 5432, MySQL 3306).', default: 5432 },
    username: { type: 'string', minLength: 1, description: 'User to connect as.', default: 'postgres' },
    password: {
      type: 'string',
      description:
        'Password; write ${VAR} to take it from the environment. A literal password in the file is accepted but `validate` warns.',
      default: '',
    },
    dbname: {
      type: 'string',
      minLength: 1,
      description: 'Maintenance database to connect to first (PostgreSQL: postgres; MySQL: none).',
      default: 'postgres',
    },
    ssl: {
      type: 'string',
      enum: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
      description: 'SSL mode, libpq words: disable | allow | prefer | require | verify-ca | verify-full.',
      default: 'prefer',
    },
    sslrootcert: {
      type: 'string',
      description: 'CA certificate file for verify-ca / verify-full (path relative to the YAML file).',
      default: '',
    },
    sslcert: { type: 'string', description: 'Client certificate file (path relative to the YAML file).', default: '' },
    sslkey: { type: 'string', description: 'Client key file (path relative to the YAML file).', default: '' },
    ssh: {
      type: 'object',
      additionalProperties: false,
      required: ['host'],
      default: null,
      description:
        "Reach this server through an SSH tunnel (a bastion host): every connection dbferry makes, pg_dump's included, goes through it. Key authentication only; the host key is checked against knownHosts.",
      properties: {
        host: { type: 'string', minLength: 1, description: 'SSH server (bastion) host name or address.', default: '' },
        port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SSH port.', default: 22 },
        user: { type: 'string', minLength: 1, description: 'SSH user. Default: $USER.', default: '' },
        privateKeyFile: {
          type: 'string',
          description:
            'Private key file (path relative to the YAML file). Default: the agent when agent is true, else ~/.ssh/id_ed25519 or ~/.ssh/id_rsa.',
          default: '',
        },
        privateKey: {
          type: 'string',
          description: 'Private key text; write ${VAR} to take it from the environment (CI secrets). Never printed.',
          default: '',
        },
        passphrase: { type: 'string', description: 'Passphrase of an encrypted key; write ${VAR}.', default: '' },
        agent: { type: 'boolean', description: 'Authenticate with the SSH agent at $SSH_AUTH_SOCK.', default: false },
        knownHosts: {
          type: 'string',
          description:
            "known_hosts file the SSH server's host key must be in (hashed entries accepted). Unknown or changed keys refuse the connection.",
          default: '~/.ssh/known_hosts',
        },
      },
    },
  },
};

const stringList = (description) => ({
  type: 'array',
  items: { type: 'string', minLength: 1 },
  uniqueItems: true,
  description,
  default: [],
});

const common = {
  version: { type: 'integer', const: 1, description: 'Format version of this file. Always 1.', default: 1 },
  name: {
    type: 'string',
    pattern: '^[A-Za-z0-9][A-Za-z0-9-]*$',
    maxLength: 50,
    description:
      'Migration name, unique per target server (Azure migration-name rule: letters, digits and hyphens, not starting with a hyphen).',
    default: '',
    'x-expected': 'letters, digits and hyphens, not starting with a hyphen (Azure migration-name rule)',
  },
  engine: {
    type: 'string',
    enum: ['postgresql', 'mysql'],
    description: 'Database engine. Inferred from the URI scheme (postgres://, mysql://) when omitted; postgresql otherwise.',
    default: 'postgresql',
  },
};

const extras = {
  mode: {
    type: 'string',
    enum: ['offline', 'online'],
    description: 'offline: copy once. online: copy, then replicate continuously until cutover (Azure migrationMode).',
    default: 'offline',
  },
  option: {
    type: 'string',
    enum: ['Validate', 'Migrate', 'ValidateAndMigrate'],
    description:
      'Validate: only run the pre-migration check. Migrate: skip it. ValidateAndMigrate: check, then migrate if nothing failed (Azure migrationOption).',
    default: 'ValidateAndMigrate',
  },
  method: {
    type: 'string',
    enum: ['auto', 'replication', 'dump'],
    description:
      'auto: replication where its checks pass, else dump (per database, reason shown). replication: logical replication or fail. dump: copy only (Aiven method).',
    default: 'auto',
  },
  databases: {
    type: 'object',
    additionalProperties: false,
    description: 'Which databases to migrate.',
    default: {},
    properties: {
      include: stringList(
        'Databases to migrate (Azure dbsToMigrate); names or glob patterns (shop_*). Empty or absent: every non-system database that allows connections.',
      ),
      exclude: stringList('Databases to leave out (Aiven ignore_dbs); names or glob patterns.'),
      overwrite: {
        type: 'boolean',
        description:
          'Drop and recreate a target database that already has content (Azure overwriteDbsInTarget). false refuses a non-empty target database.',
        default: false,
      },
      maxTotalSize: sizeOrBytes(
        '`check` fails when the databases to migrate are larger than this in total, e.g. 500GB. Absent: no limit.',
        null,
      ),
    },
  },
  roles: {
    type: 'object',
    additionalProperties: false,
    description: 'PostgreSQL roles.',
    default: {},
    properties: {
      migrate: {
        type: 'boolean',
        description:
          'Create the source roles on the target with attributes, memberships and settings (never superuser roles, never passwords).',
        default: true,
      },
      exclude: stringList('Roles not to create (Aiven ignore_roles); objects they own are owned by the target user.'),
    },
  },
  schemas: {
    type: 'object',
    additionalProperties: false,
    description: 'PostgreSQL schemas to migrate: names or glob patterns (tenant_*). An excluded schema is neither created nor copied.',
    default: {},
    properties: {
      include: stringList('Only these schemas (with their tables, types, functions...). Empty or absent: every schema.'),
      exclude: stringList('Schemas to leave out.'),
    },
  },
  tables: {
    type: 'object',
    additionalProperties: false,
    description:
      'Table filters, in SQL identifier syntax: table | schema.table | db.schema.table (MySQL: table | db.table); an unquoted part may be a glob pattern (audit_*). Quote odd names: "odd.name".',
    default: {},
    properties: {
      include: stringList('Copy the data of these tables only (all others are created empty).'),
      skip: stringList('Do not copy the data of these tables; they are still created, empty, so dependants do not break.'),
    },
  },
  extensions: {
    type: 'object',
    additionalProperties: false,
    description: 'PostgreSQL extensions.',
    default: {},
    properties: {
      exclude: stringList('Extensions (and their objects) to leave out, for an extension the target cannot install.'),
    },
  },
  replication: {
    type: 'object',
    additionalProperties: false,
    description: 'Online mode settings.',
    default: {},
    properties: {
      maxLag: {
        description:
          'Largest lag at which cutover may proceed. PostgreSQL: bytes of WAL (e.g. 1MB). MySQL: seconds behind the source (e.g. 5 or 5s).',
        default: '1MB',
        type: ['number', 'string'],
        minimum: 0,
        pattern: '^\\s*[0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]i?[bB]|[bB]|ms|s|m|h)?\\s*$',
        'x-expected': 'a size such as 1MB (PostgreSQL) or a duration such as 5s (MySQL)',
      },
      replicaIdentityFull: {
        type: 'boolean',
        description:
          'PostgreSQL: set REPLICA IDENTITY FULL on source tables without a primary key so their UPDATE/DELETE replicate. Changes the source; off by default.',
        default: false,
      },
    },
  },
  notify: {
    type: 'object',
    additionalProperties: false,
    description: 'Notifications of state changes (started, copied, waiting for cutover, failed, succeeded, canceled).',
    default: {},
    properties: {
      webhooks: {
        type: 'array',
        items: { type: 'string', minLength: 1, pattern: '^https?://', 'x-expected': 'an http:// or https:// URL' },
        description:
          'URLs that receive a JSON document per event (POST; with a Slack-compatible `text` field). Write ${VAR} for a secret URL. Retried with backoff; never blocks or fails the migration.',
        default: [],
      },
    },
  },
  cutover: {
    type: 'boolean',
    description:
      'Online mode: false waits in WaitingForCutoverTrigger for `dbferry cutover`; true cuts over automatically once lag <= replication.maxLag.',
    default: false,
  },
  copy: {
    type: 'object',
    additionalProperties: false,
    description: 'Copy tuning.',
    default: {},
    properties: {
      jobs: { type: 'integer', minimum: 1, maximum: 64, description: 'Parallel table copies and index builds.', default: 4 },
      splitTablesLargerThan: sizeOrBytes('Copy a table larger than this in ranges, in parallel.', '2GB'),
      maxRate: sizeOrBytes(
        'Most bytes per second read from the source over all copy streams together, e.g. 50MB, to protect a busy source. Absent: no limit.',
        null,
      ),
      pauseWhen: {
        type: 'object',
        additionalProperties: false,
        description:
          'PostgreSQL: pause the copy while the source is busy; checked every second, the copy goes on when the condition clears.',
        default: {},
        properties: {
          sourceConnectionsAbove: {
            type: 'integer',
            minimum: 1,
            description: "Pause while the source has more client connections than this (dbferry's own not counted).",
            default: null,
          },
          standbyLagAbove: sizeOrBytes(
            'Pause while a physical standby of the source lags by more than this (bytes of WAL not yet replayed), e.g. 1GB.',
            null,
          ),
        },
      },
    },
  },
  verify: {
    type: 'string',
    enum: ['auto', 'checksums', 'counts', 'none'],
    description:
      'Compare source and target after the copy. auto: row counts and row checksums of every table, tables above verifySampleAbove checksummed on a deterministic sample of key ranges. checksums: row counts and full checksums of every table. counts: row counts only. none: nothing.',
    default: 'auto',
  },
  verifySampleAbove: sizeOrBytes(
    'With verify: auto, tables larger than this with an integer primary key are checksummed on about this much data in 32 key ranges instead of in full.',
    '64MB',
  ),
};

const canonical = {
  type: 'object',
  description: 'dbferry migration, canonical form.',
  additionalProperties: false,
  required: ['name', 'source', 'target'],
  properties: {
    ...common,
    mode: extras.mode,
    option: extras.option,
    method: extras.method,
    source: { ...connection, description: 'The server to migrate from. ' + connection.description },
    target: { ...connection, description: 'The server to migrate to. ' + connection.description },
    databases: extras.databases,
    roles: extras.roles,
    schemas: extras.schemas,
    tables: extras.tables,
    extensions: extras.extensions,
    replication: extras.replication,
    cutover: extras.cutover,
    notify: extras.notify,
    copy: extras.copy,
    verify: extras.verify,
    verifySampleAbove: extras.verifySampleAbove,
  },
};

const aiven = {
  type: 'object',
  description: "Aiven form: the `migration.*` settings of `avn service update -c migration.key=value`, plus dbferry's `target`.",
  additionalProperties: false,
  required: ['migration', 'target'],
  properties: {
    ...common,
    name: { ...common.name, description: common.name.description + ' Derived from the source host and database when omitted.' },
    migration: {
      type: 'object',
      default: {},
      description: 'Aiven migration settings (source server).',
      additionalProperties: false,
      required: ['host'],
      properties: {
        host: { type: 'string', minLength: 1, description: 'migration.host: source host name.', default: '' },
        port: { type: 'integer', minimum: 1, maximum: 65535, description: 'migration.port: source port.', default: 5432 },
        ssl: { type: 'boolean', description: 'migration.ssl: connect with SSL (require) or not (prefer).', default: true },
        username: { type: 'string', minLength: 1, description: 'migration.username: source user.', default: 'postgres' },
        password: { type: 'string', description: 'migration.password: source password; use ${VAR}.', default: '' },
        dbname: { type: 'string', minLength: 1, description: 'migration.dbname: bootstrap database on the source.', default: 'defaultdb' },
        ignore_dbs: { type: 'string', description: 'migration.ignore_dbs: comma-separated databases to skip.', default: '' },
        ignore_roles: { type: 'string', description: 'migration.ignore_roles: comma-separated roles to skip.', default: '' },
        method: {
          type: 'string',
          enum: ['dump', 'replication'],
          description: 'migration.method: dump or replication; absent = replication with fallback to dump.',
          default: '',
        },
      },
    },
    target: { ...connection, description: 'The server to migrate to. ' + connection.description },
    mode: extras.mode,
    option: extras.option,
    cutover: extras.cutover,
    notify: extras.notify,
    schemas: extras.schemas,
    tables: extras.tables,
    extensions: extras.extensions,
    replication: extras.replication,
    copy: extras.copy,
    verify: extras.verify,
    verifySampleAbove: extras.verifySampleAbove,
  },
};

const azureProps = {
  type: 'object',
  default: {},
  description: 'Azure migration properties (the --properties JSON body). Keys are matched case-insensitively, as Azure does.',
  additionalProperties: false,
  required: ['sourceDbServerResourceId'],
  properties: {
    sourceDbServerResourceId: {
      type: 'string',
      pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:@\\s\\[\\]]+):[0-9]{1,5}@[^@\\s]+$',
      description: 'Source server as <host>:<port>@<user>.',
      default: '',
      'x-expected': '<host>:<port>@<user>, e.g. 10.0.0.4:5432@postgres',
    },
    secretParameters: {
      type: 'object',
      additionalProperties: false,
      description: 'Secrets.',
      default: {},
      properties: {
        adminCredentials: {
          type: 'object',
          additionalProperties: false,
          description: 'Admin passwords of both servers; use ${VAR}.',
          default: {},
          properties: {
            sourceServerPassword: { type: 'string', description: 'Source password.', default: '' },
            targetServerPassword: { type: 'string', description: 'Target password.', default: '' },
          },
        },
        sourceServerUserName: { type: 'string', description: 'Source user (overrides the one in sourceDbServerResourceId).', default: '' },
        targetServerUserName: { type: 'string', description: 'Target user.', default: '' },
      },
    },
    adminCredentials: {
      type: 'object',
      additionalProperties: false,
      description: 'Older shape of secretParameters.adminCredentials.',
      default: {},
      properties: {
        sourceServerPassword: { type: 'string', description: 'Source password.', default: '' },
        targetServerPassword: { type: 'string', description: 'Target password.', default: '' },
      },
    },
    targetServerUserName: { type: 'string', description: 'User on the target server.', default: '' },
    dbsToMigrate: { ...stringList('Databases to migrate.'), maxItems: 50 },
    overwriteDbsInTarget: { type: 'boolean', description: 'Overwrite databases that exist on the target.', default: false },
    migrationMode: { type: 'string', enum: ['Offline', 'Online'], description: 'Offline or Online.', default: 'Offline' },
    migrationOption: {
      type: 'string',
      enum: ['Validate', 'Migrate', 'ValidateAndMigrate'],
      description: 'Validate, Migrate or ValidateAndMigrate.',
      default: 'ValidateAndMigrate',
    },
    sourceType: {
      type: 'string',
      enum: [
        'OnPremises',
        'AWS',
        'AWS_RDS',
        'AWS_AURORA',
        'AWS_EC2',
        'AzureVM',
        'GCP_CloudSQL',
        'GCP_AlloyDB',
        'GCP_Compute',
        'PostgreSQLSingleServer',
        'EDB',
      ],
      description: 'Where the source runs (informational).',
      default: 'OnPremises',
    },
    sslMode: {
      type: 'string',
      enum: ['Prefer', 'Require', 'VerifyCA', 'VerifyFull'],
      description: 'SSL mode for the source connection.',
      default: 'Prefer',
    },
    triggerCutover: { type: 'boolean', description: 'Online: cut over once lag allows.', default: false },
    dbsToTriggerCutoverOn: stringList('Databases to cut over (default: all).'),
    cancel: { type: 'boolean', description: 'Cancel the migration.', default: false },
    dbsToCancelMigrationOn: stringList('Databases to cancel (default: all).'),
    migrationInstanceResourceId: { type: 'string', description: 'Ignored (Azure runtime server).', default: '' },
    sourceServerUserName: { type: 'string', description: 'Source user (overrides the one in sourceDbServerResourceId).', default: '' },
  },
};

const azure = {
  type: 'object',
  description: "Azure form: the `properties` body of `az postgres flexible-server migration create`, plus dbferry's `target`.",
  additionalProperties: false,
  required: ['properties', 'target'],
  properties: {
    ...common,
    name: { ...common.name, description: common.name.description + ' Derived from the source host when omitted.' },
    properties: azureProps,
    target: { ...connection, description: 'The server to migrate to (Azure: the flexible server). ' + connection.description },
    method: extras.method,
    roles: extras.roles,
    schemas: extras.schemas,
    tables: extras.tables,
    extensions: extras.extensions,
    replication: extras.replication,
    copy: extras.copy,
    verify: extras.verify,
    verifySampleAbove: extras.verifySampleAbove,
  },
};

export const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://dbferry.dev/schemas/migration.schema.json',
  title: 'dbferry migration.yaml',
  description:
    'A dbferry migration: canonical form, or the Aiven (`migration:`) or Azure (`properties:`) form. See the README YAML reference.',
  if: { type: 'object', required: ['migration'] },
  then: { $ref: '#/$defs/aiven' },
  else: {
    if: { type: 'object', required: ['properties'] },
    then: { $ref: '#/$defs/azure' },
    else: { $ref: '#/$defs/canonical' },
  },
  $defs: { canonical, aiven, azure },
};

export const schemaText = JSON.stringify(schema, null, 2) + '\n';

/** The same options src/config/schema.ts documents; the validators are compiled here, once, not at every start. */
export const AJV_OPTIONS = {
  allErrors: true,
  verbose: true,
  coerceTypes: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
};

/** ajv standalone code of the three forms' validators, as a TypeScript module (saves ~0.2 s of compiling at each start). */
export async function validatorsText() {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const standalone = (await import('ajv/dist/standalone/index.js')).default.default;
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  ajv.addSchema(schema);
  const refs = Object.fromEntries(Object.keys(schema.$defs).map((form) => [form, `${schema.$id}#/$defs/${form}`]));
  const code = standalone(ajv, refs).replace(/require\("ajv\/dist\/runtime\/ucs2length"\)\.default/g, '(ucs2length.default ?? ucs2length)'); // CJS default: Node gives module.exports, bundlers its .default
  return [
    '// @ts-nocheck',
    '/* eslint-disable */',
    '// Generated by `npm run gen:schema` from scripts/schema-src.mjs (ajv standalone code). Do not edit.',
    "import ucs2length from 'ajv/dist/runtime/ucs2length.js';",
    code.replace(/^"use strict";/, ''),
    '',
  ].join('\n');
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  writeFileSync(new URL('../schemas/migration.schema.json', import.meta.url), schemaText);
  writeFileSync(new URL('../src/config/validators.generated.ts', import.meta.url), await validatorsText());
}
