/**
 * The Aiven (`migration:`) and Azure (`properties:`) forms, mapped onto the canonical raw shape.
 * `origins` records, for each canonical key, where in the user's file it came from, so that
 * later diagnostics point at the line the user wrote. Pure.
 */
import type { RawConnection } from './connection.js';
import { sanitizeName } from './identifiers.js';
import type { YamlPath } from './yaml-source.js';

export interface RawCanonical {
  version?: number;
  name?: string;
  engine?: string;
  mode?: string;
  option?: string;
  method?: string;
  source?: RawConnection;
  target?: RawConnection;
  databases?: { include?: string[]; exclude?: string[]; overwrite?: boolean; maxTotalSize?: string | number };
  roles?: { migrate?: boolean; exclude?: string[] };
  schemas?: { include?: string[]; exclude?: string[] };
  tables?: { include?: string[]; skip?: string[] };
  extensions?: { exclude?: string[] };
  replication?: { maxLag?: string | number; replicaIdentityFull?: boolean };
  cutover?: boolean;
  notify?: { webhooks?: string[] };
  cutoverDatabases?: string[];
  cancel?: { requested: boolean; databases: string[] };
  copy?: {
    jobs?: number;
    splitTablesLargerThan?: string | number;
    maxRate?: string | number | null;
    pauseWhen?: { sourceConnectionsAbove?: number | null; standbyLagAbove?: string | number | null };
  };
  verify?: string;
  verifySampleAbove?: string | number;
}

export type Origins = Map<string, YamlPath>;

export interface FormIssue {
  path: YamlPath;
  message: string;
}

export interface Normalized {
  raw: RawCanonical;
  origins: Origins;
  issues: FormIssue[];
}

type Obj = Record<string, unknown>;

const asObj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v));
const commaList = (v: unknown): string[] =>
  (str(v) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const CANONICAL_EXTRAS = [
  'version',
  'name',
  'engine',
  'mode',
  'option',
  'method',
  'databases',
  'roles',
  'schemas',
  'tables',
  'extensions',
  'replication',
  'cutover',
  'notify',
  'copy',
  'verify',
  'verifySampleAbove',
] as const;

function copyExtras(doc: Obj, raw: RawCanonical): void {
  for (const k of CANONICAL_EXTRAS) {
    if (doc[k] !== undefined) (raw as Obj)[k] = doc[k];
  }
}

export function normalizeCanonical(doc: Obj): Normalized {
  const raw: RawCanonical = {};
  copyExtras(doc, raw);
  raw.source = asObj(doc.source) as RawConnection;
  raw.target = asObj(doc.target) as RawConnection;
  return { raw, origins: new Map(), issues: [] };
}

export function normalizeAiven(doc: Obj): Normalized {
  const m = asObj(doc.migration);
  const origins: Origins = new Map();
  const raw: RawCanonical = {};
  copyExtras(doc, raw);
  const source: RawConnection = {};
  const map = (from: string, to: keyof RawConnection): void => {
    if (m[from] === undefined) return;
    (source as Obj)[to] = m[from];
    origins.set(`source.${to}`, ['migration', from]);
  };
  map('host', 'host');
  map('port', 'port');
  map('username', 'username');
  map('password', 'password');
  map('dbname', 'dbname');
  source.ssl = m.ssl === false ? 'prefer' : 'require';
  origins.set('source.ssl', ['migration', 'ssl']);
  origins.set('source', ['migration']);
  raw.source = source;
  raw.target = asObj(doc.target) as RawConnection;
  const ignoreDbs = commaList(m.ignore_dbs);
  if (ignoreDbs.length) {
    raw.databases = { ...asObj(raw.databases), exclude: ignoreDbs };
    origins.set('databases.exclude', ['migration', 'ignore_dbs']);
  }
  const ignoreRoles = commaList(m.ignore_roles);
  if (ignoreRoles.length) {
    raw.roles = { exclude: ignoreRoles };
    origins.set('roles.exclude', ['migration', 'ignore_roles']);
  }
  const method = str(m.method);
  if (method === 'dump') {
    raw.method = 'dump';
    raw.mode ??= 'offline';
  } else if (method === 'replication') {
    raw.method = 'replication';
    raw.mode ??= 'online';
  } else {
    raw.method = 'auto';
    raw.mode ??= 'online';
  }
  origins.set('method', ['migration', 'method']);
  if (raw.name === undefined) {
    raw.name = sanitizeName(`${str(m.host) ?? 'source'}-${str(m.dbname) ?? 'defaultdb'}`);
    origins.set('name', ['migration', 'host']);
  }
  if (raw.engine === undefined) {
    const targetUri = str(asObj(doc.target).uri);
    if (targetUri && /^(mysql|mariadb)/i.test(targetUri)) raw.engine = 'mysql';
    else if (Number(m.port) === 3306) raw.engine = 'mysql';
  }
  return { raw, origins, issues: [] };
}

const AZURE_SSL: Record<string, string> = { Prefer: 'prefer', Require: 'require', VerifyCA: 'verify-ca', VerifyFull: 'verify-full' };

/** Splits `host:port@user` (the host may be an IPv6 literal in brackets). */
export function parseAzureResourceId(id: string): { host: string; port: number; user: string } | undefined {
  const at = id.lastIndexOf('@');
  if (at <= 0) return undefined;
  const hostPort = id.slice(0, at);
  const user = id.slice(at + 1);
  const colon = hostPort.lastIndexOf(':');
  if (colon <= 0 || user === '') return undefined;
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(hostPort.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535 || host === '') return undefined;
  return { host, port, user };
}

/** Where a key of the Azure `properties:` block is in the file. */
const prop = (...k: string[]): YamlPath => ['properties', ...k];

/** The parts of an Azure document every step reads, and the origins and issues the steps record. */
interface AzureContext {
  /** properties */
  p: Obj;
  /** properties.secretParameters */
  secrets: Obj;
  /** adminCredentials, under secretParameters (preferred) or properties. */
  creds: Obj;
  credsPath: YamlPath;
  origins: Origins;
  issues: FormIssue[];
}

export function normalizeAzure(doc: Obj): Normalized {
  const p = asObj(doc.properties);
  const secrets = asObj(p.secretParameters);
  const c: AzureContext = {
    p,
    secrets,
    creds: { ...asObj(p.adminCredentials), ...asObj(secrets.adminCredentials) },
    credsPath: secrets.adminCredentials !== undefined ? prop('secretParameters', 'adminCredentials') : prop('adminCredentials'),
    origins: new Map(),
    issues: [],
  };
  const raw: RawCanonical = {};
  copyExtras(doc, raw);
  const { source, rid } = azureSource(c);
  raw.source = source;
  raw.target = azureTarget(c, asObj(doc.target) as RawConnection);
  azureDatabases(c, raw);
  azureRunOptions(c, raw);
  if (raw.name === undefined) {
    raw.name = sanitizeName(rid ? `${rid.host}` : 'azure-migration');
    c.origins.set('name', prop('sourceDbServerResourceId'));
  }
  if (raw.engine === undefined) raw.engine = 'postgresql';
  else if (raw.engine !== 'postgresql')
    c.issues.push({ path: ['engine'], message: 'the Azure form describes a PostgreSQL migration; engine must be postgresql (or omitted)' });
  return { raw, origins: c.origins, issues: c.issues };
}

/** The source: host, port and user from sourceDbServerResourceId, then the user name, password and SSL mode. */
function azureSource({ p, secrets, creds, credsPath, origins }: AzureContext): {
  source: RawConnection;
  rid: ReturnType<typeof parseAzureResourceId>;
} {
  const source: RawConnection = {};
  const rid = parseAzureResourceId(str(p.sourceDbServerResourceId) ?? '');
  if (rid) {
    source.host = rid.host;
    source.port = rid.port;
    source.username = rid.user;
  }
  for (const k of ['host', 'port', 'username'] as const) origins.set(`source.${k}`, prop('sourceDbServerResourceId'));
  const srcUser = str(secrets.sourceServerUserName) ?? str(p.sourceServerUserName);
  if (srcUser) {
    source.username = srcUser;
    origins.set(
      'source.username',
      secrets.sourceServerUserName !== undefined ? prop('secretParameters', 'sourceServerUserName') : prop('sourceServerUserName'),
    );
  }
  if (creds.sourceServerPassword !== undefined) {
    source.password = str(creds.sourceServerPassword);
    origins.set('source.password', [...credsPath, 'sourceServerPassword']);
  }
  if (p.sslMode !== undefined) {
    source.ssl = AZURE_SSL[str(p.sslMode) ?? ''] ?? str(p.sslMode);
    origins.set('source.ssl', prop('sslMode'));
  }
  origins.set('source', prop('sourceDbServerResourceId'));
  return { source, rid };
}

/** The target block of the file, with the user name and password of the Azure properties. */
function azureTarget({ p, secrets, creds, credsPath, origins, issues }: AzureContext, written: RawConnection): RawConnection {
  const target: RawConnection = { ...written };
  const tgtUser = str(p.targetServerUserName) ?? str(secrets.targetServerUserName);
  if (tgtUser !== undefined) {
    const at = p.targetServerUserName !== undefined ? prop('targetServerUserName') : prop('secretParameters', 'targetServerUserName');
    if (target.username !== undefined && target.username !== tgtUser) {
      issues.push({
        path: at,
        message: `targetServerUserName "${tgtUser}" contradicts target.username "${target.username}"; give the target user in one place`,
      });
    } else {
      target.username = tgtUser;
      origins.set('target.username', at);
    }
  }
  if (creds.targetServerPassword !== undefined) {
    target.password = str(creds.targetServerPassword);
    origins.set('target.password', [...credsPath, 'targetServerPassword']);
  }
  return target;
}

/** dbsToMigrate and overwriteDbsInTarget -> databases. */
function azureDatabases({ p, origins }: AzureContext, raw: RawCanonical): void {
  const dbs = Array.isArray(p.dbsToMigrate) ? (p.dbsToMigrate as unknown[]).map(String) : undefined;
  if (dbs === undefined && p.overwriteDbsInTarget === undefined) return;
  raw.databases = {};
  if (dbs !== undefined) {
    raw.databases.include = dbs;
    origins.set('databases.include', prop('dbsToMigrate'));
  }
  if (p.overwriteDbsInTarget !== undefined) {
    raw.databases.overwrite = p.overwriteDbsInTarget === true;
    origins.set('databases.overwrite', prop('overwriteDbsInTarget'));
  }
}

/** migrationMode, migrationOption, cutover and cancel requests. */
function azureRunOptions({ p, origins }: AzureContext, raw: RawCanonical): void {
  if (p.migrationMode !== undefined) {
    raw.mode = str(p.migrationMode)?.toLowerCase();
    origins.set('mode', prop('migrationMode'));
  }
  if (p.migrationOption !== undefined) {
    raw.option = str(p.migrationOption);
    origins.set('option', prop('migrationOption'));
  }
  if (p.triggerCutover !== undefined) {
    raw.cutover = p.triggerCutover === true;
    origins.set('cutover', prop('triggerCutover'));
  }
  if (Array.isArray(p.dbsToTriggerCutoverOn)) {
    raw.cutoverDatabases = (p.dbsToTriggerCutoverOn as unknown[]).map(String);
    origins.set('cutoverDatabases', prop('dbsToTriggerCutoverOn'));
  }
  if (p.cancel !== undefined || p.dbsToCancelMigrationOn !== undefined) {
    raw.cancel = {
      requested: p.cancel === true,
      databases: Array.isArray(p.dbsToCancelMigrationOn) ? (p.dbsToCancelMigrationOn as unknown[]).map(String) : [],
    };
    origins.set('cancel', p.cancel !== undefined ? prop('cancel') : prop('dbsToCancelMigrationOn'));
  }
}

/** The YAML path for a canonical path, through the origins of the form. */
export function originOf(origins: Origins, canonicalPath: readonly (string | number)[]): YamlPath {
  for (let n = canonicalPath.length; n > 0; n--) {
    const key = canonicalPath.slice(0, n).join('.');
    const o = origins.get(key);
    if (o) return n === canonicalPath.length ? o : [...o, ...canonicalPath.slice(n)];
  }
  return canonicalPath;
}
