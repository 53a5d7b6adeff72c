// Where the OpenStack credentials come from, the way the openstack CLI and openstacksdk find them: a cloud
// entry of clouds.yaml (explicit file, else OS_CLIENT_CONFIG_FILE, else ./clouds.yaml,
// ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml) with secure.yaml from the same place merged
// over it, or the OS_* environment variables. Pure apart from reading files; secrets are registered for
// redaction as soon as they are read.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { registerSecret } from '../core/redact.js';
import { OpenStackConfigError } from './errors.js';

/** Endpoint interfaces of the Keystone catalog. */
export type EndpointInterface = 'public' | 'internal' | 'admin';

/** Keystone v3 authentication methods this client supports. */
export type AuthType = 'password' | 'application_credential';

/** Everything needed to authenticate and pick endpoints. */
export interface CloudConfig {
  /** The cloud's name in clouds.yaml, or undefined for OS_* variables. */
  cloud: string | undefined;
  /** Where it came from: a clouds.yaml path or "environment". */
  source: string;
  authType: AuthType;
  /** Keystone v3 URL, normalised to end in /v3. */
  authUrl: string;
  username?: string;
  userId?: string;
  password?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret?: string;
  regionName?: string;
  interface: EndpointInterface;
}

/** What to look for and where. */
export interface LoadCloudOptions {
  /** Cloud name in clouds.yaml (inventory openstack.cloud, else OS_CLOUD). */
  cloud?: string;
  /** Explicit clouds.yaml (inventory openstack.cloudsFile). */
  cloudsFile?: string;
  /** Overrides of the region and interface (inventory). */
  region?: string;
  interface?: EndpointInterface;
  /** Default project when the cloud entry names none (inventory openstack.project). */
  project?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

/** The standard clouds.yaml search path, in order. */
export function standardCloudsPaths(cwd: string, home: string): string[] {
  return [join(cwd, 'clouds.yaml'), join(home, '.config', 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml'];
}

/** Finds and loads the cloud configuration; throws OpenStackConfigError saying what was searched. */
export function loadCloudConfig(options: LoadCloudOptions = {}): CloudConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const home = options.home ?? homedir();
  const cloudName = options.cloud ?? (env.OS_CLOUD || undefined);

  let file: string | undefined;
  let searched: string[];
  if (options.cloudsFile) {
    file = resolve(cwd, options.cloudsFile);
    searched = [file];
    if (!existsSync(file)) {
      throw new OpenStackConfigError(`clouds.yaml not found at ${file}`, {
        context: { cloudsFile: file },
        hint: 'fix openstack.cloudsFile in the inventory',
      });
    }
  } else if (env.OS_CLIENT_CONFIG_FILE) {
    file = resolve(cwd, env.OS_CLIENT_CONFIG_FILE);
    searched = [file];
    if (!existsSync(file)) {
      throw new OpenStackConfigError(`OS_CLIENT_CONFIG_FILE points to ${file}, which does not exist`, {
        context: { cloudsFile: file },
        hint: 'fix or unset OS_CLIENT_CONFIG_FILE',
      });
    }
  } else {
    searched = standardCloudsPaths(cwd, home);
    file = searched.find((p) => existsSync(p));
  }

  if (file && cloudName) {
    const clouds = readClouds(file);
    const entry = clouds[cloudName];
    if (entry) {
      const secure = readSecure(file, cwd, home)[cloudName];
      return fromCloudEntry(cloudName, file, secure ? deepMerge(entry, secure) : entry, options);
    }
    if (options.cloudsFile || env.OS_CLIENT_CONFIG_FILE || !env.OS_AUTH_URL) {
      throw new OpenStackConfigError(`cloud "${cloudName}" is not in ${file} (it has: ${Object.keys(clouds).join(', ') || 'none'})`, {
        context: { cloud: cloudName, cloudsFile: file },
        hint: `add a "${cloudName}" entry under clouds: in ${file}, or fix openstack.cloud in the inventory`,
      });
    }
  }
  if (env.OS_AUTH_URL) return fromEnvironment(env, options);
  throw new OpenStackConfigError(
    cloudName ? `no clouds.yaml with cloud "${cloudName}" found and OS_AUTH_URL is not set` : 'no OpenStack cloud configured',
    {
      context: { cloud: cloudName, searched },
      hint: `create clouds.yaml in one of ${searched.join(', ')} (or set OS_CLIENT_CONFIG_FILE), or export the OS_* variables of an openrc file`,
    },
  );
}

/** Keystone v3 URL: adds /v3 unless the URL already ends with a version. */
export function normaliseAuthUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new OpenStackConfigError(`auth_url is not a URL: ${url}`, { cause: err, hint: 'set auth_url to e.g. https://keystone.example.org:5000/v3' });
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  if (/\/v2(\.0)?$/.test(path)) {
    throw new OpenStackConfigError(`auth_url ${url} is Keystone v2, which this client does not support`, { hint: 'use the v3 URL (…/v3)' });
  }
  parsed.pathname = /\/v3$/.test(path) ? path : `${path}/v3`;
  return parsed.toString().replace(/\/+$/, '');
}

type Entry = Record<string, unknown>;

function readClouds(file: string): Record<string, Entry> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new OpenStackConfigError(`cannot read ${file}: ${(err as Error).message}`, { cause: err, context: { cloudsFile: file }, hint: 'fix the YAML' });
  }
  const clouds = (doc as { clouds?: unknown } | null)?.clouds;
  if (!clouds || typeof clouds !== 'object') {
    throw new OpenStackConfigError(`${file} has no "clouds:" map`, { context: { cloudsFile: file }, hint: 'clouds.yaml starts with "clouds:"' });
  }
  return clouds as Record<string, Entry>;
}

function readSecure(cloudsFile: string, cwd: string, home: string): Record<string, Entry> {
  // secure.yaml sits beside clouds.yaml (openstacksdk looks in the same directories).
  const candidates = [join(dirname(cloudsFile), 'secure.yaml'), ...standardCloudsPaths(cwd, home).map((p) => join(dirname(p), 'secure.yaml'))];
  const found = candidates.find((p) => existsSync(p));
  if (!found) return {};
  try {
    const doc = parseYaml(readFileSync(found, 'utf8')) as { clouds?: Record<string, Entry> } | null;
    return doc?.clouds ?? {};
  } catch (err) {
    throw new OpenStackConfigError(`cannot read ${found}: ${(err as Error).message}`, { cause: err, hint: 'fix the YAML' });
  }
}

function deepMerge(a: Entry, b: Entry): Entry {
  const out: Entry = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev) ? deepMerge(prev as Entry, v as Entry) : v;
  }
  return out;
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function authTypeOf(raw: string | undefined, hasAppCred: boolean, where: string): AuthType {
  const t = (raw ?? (hasAppCred ? 'v3applicationcredential' : 'password')).toLowerCase();
  if (t === 'password' || t === 'v3password') return 'password';
  if (t === 'v3applicationcredential' || t === 'applicationcredential' || t === 'application_credential') return 'application_credential';
  throw new OpenStackConfigError(`auth type "${raw}" in ${where} is not supported`, {
    hint: 'use password (v3password) or v3applicationcredential',
  });
}

function interfaceOf(raw: string | undefined, where: string): EndpointInterface {
  const value = (raw ?? 'public').replace(/URL$/, '').toLowerCase();
  if (value === 'public' || value === 'internal' || value === 'admin') return value;
  throw new OpenStackConfigError(`interface "${raw}" in ${where} is not public, internal or admin`, { hint: 'fix the interface setting' });
}

function fromCloudEntry(cloud: string, file: string, entry: Entry, options: LoadCloudOptions): CloudConfig {
  const auth = (entry.auth ?? {}) as Entry;
  const where = `${file} (cloud ${cloud})`;
  const authUrl = str(auth.auth_url);
  if (!authUrl) throw new OpenStackConfigError(`${where} has no auth.auth_url`, { hint: 'add auth.auth_url (the Keystone v3 URL)' });
  const cfg: CloudConfig = {
    cloud,
    source: file,
    authType: authTypeOf(str(entry.auth_type), str(auth.application_credential_id) !== undefined || str(auth.application_credential_name) !== undefined, where),
    authUrl: normaliseAuthUrl(authUrl),
    username: str(auth.username),
    userId: str(auth.user_id),
    password: str(auth.password),
    userDomainName: str(auth.user_domain_name) ?? str(auth.domain_name),
    userDomainId: str(auth.user_domain_id) ?? str(auth.domain_id),
    projectName: str(auth.project_name) ?? str(auth.tenant_name) ?? options.project,
    projectId: str(auth.project_id) ?? str(auth.tenant_id),
    projectDomainName: str(auth.project_domain_name) ?? str(auth.domain_name),
    projectDomainId: str(auth.project_domain_id) ?? str(auth.domain_id),
    applicationCredentialId: str(auth.application_credential_id),
    applicationCredentialName: str(auth.application_credential_name),
    applicationCredentialSecret: str(auth.application_credential_secret),
    regionName: options.region ?? str(entry.region_name),
    interface: options.interface ?? interfaceOf(str(entry.interface) ?? str(entry.endpoint_type), where),
  };
  return validated(cfg, where);
}

function fromEnvironment(env: NodeJS.ProcessEnv, options: LoadCloudOptions): CloudConfig {
  const e = (name: string): string | undefined => str(env[name]);
  const where = 'the OS_* environment variables';
  const cfg: CloudConfig = {
    cloud: undefined,
    source: 'environment',
    authType: authTypeOf(e('OS_AUTH_TYPE'), e('OS_APPLICATION_CREDENTIAL_ID') !== undefined, where),
    authUrl: normaliseAuthUrl(e('OS_AUTH_URL')!),
    username: e('OS_USERNAME'),
    userId: e('OS_USER_ID'),
    password: e('OS_PASSWORD'),
    userDomainName: e('OS_USER_DOMAIN_NAME'),
    userDomainId: e('OS_USER_DOMAIN_ID'),
    projectName: e('OS_PROJECT_NAME') ?? e('OS_TENANT_NAME') ?? options.project,
    projectId: e('OS_PROJECT_ID') ?? e('OS_TENANT_ID'),
    projectDomainName: e('OS_PROJECT_DOMAIN_NAME'),
    projectDomainId: e('OS_PROJECT_DOMAIN_ID'),
    applicationCredentialId: e('OS_APPLICATION_CREDENTIAL_ID'),
    applicationCredentialName: e('OS_APPLICATION_CREDENTIAL_NAME'),
    applicationCredentialSecret: e('OS_APPLICATION_CREDENTIAL_SECRET'),
    regionName: options.region ?? e('OS_REGION_NAME'),
    interface: options.interface ?? interfaceOf(e('OS_INTERFACE') ?? e('OS_ENDPOINT_TYPE'), where),
  };
  return validated(cfg, where);
}

function validated(cfg: CloudConfig, where: string): CloudConfig {
  registerSecret(cfg.password);
  registerSecret(cfg.applicationCredentialSecret);
  if (cfg.authType === 'password') {
    if (!cfg.username && !cfg.userId) throw missing(where, 'a username (or user id)');
    if (!cfg.password) throw missing(where, 'a password');
    if (cfg.username && !cfg.userId && !cfg.userDomainName && !cfg.userDomainId) {
      // Keystone needs the user's domain to resolve a user name; "Default" is what every deployment tool sets.
      cfg.userDomainName = 'Default';
    }
    // An unscoped token has no catalog: password auth must name a project.
    if (!cfg.projectName && !cfg.projectId) throw missing(where, 'a project name (or project id)');
    if (cfg.projectName && !cfg.projectId && !cfg.projectDomainName && !cfg.projectDomainId) cfg.projectDomainName = 'Default';
  } else {
    if (!cfg.applicationCredentialId && !cfg.applicationCredentialName) throw missing(where, 'an application credential id');
    if (!cfg.applicationCredentialSecret) throw missing(where, 'an application credential secret');
    if (!cfg.applicationCredentialId && !cfg.username && !cfg.userId) throw missing(where, 'a user for the named application credential');
  }
  return cfg;
}

function missing(where: string, what: string): OpenStackConfigError {
  return new OpenStackConfigError(`${where} lacks ${what}`, { context: { source: where }, hint: `add ${what} to ${where}` });
}
