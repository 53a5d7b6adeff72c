// Reading a kubeconfig without client-node, for the lean path (lean.ts): loading client-node (800+ modules)
// took longer than the whole rest of an unchanged 3,700-object component deploy. Only the plain, static
// kinds of credentials are read here (server, CA, client certificate and key, bearer token, basic auth);
// anything else (exec plugins, auth providers, proxies, TLS server names, several KUBECONFIG files, a
// missing or unreadable file or context) returns undefined, and the caller loads the kubeconfig through
// client-node as before (loadKubeConfig: the same errors, the same behaviour).
import { readFileSync } from 'node:fs';
import type { AgentOptions } from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { registerSecret } from '../core/redact.js';

/** Where the lean transport sends requests and how it authenticates. */
export interface LeanEndpoint {
  /** The API server URL. */
  server: string;
  /** Headers and TLS options for requests (asked again every 30 s: tokens of exec plugins and OIDC expire). */
  connection(): Promise<{ headers: Record<string, string>; tls: AgentOptions; agent?: unknown }>;
}

const CLUSTER_KEYS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'extensions']);
const USER_KEYS = new Set(['token', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password', 'extensions']);

type Named = { name?: unknown; [k: string]: unknown };

function named(list: unknown, name: string, field: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const hit = (list as Named[]).find((x) => x && x.name === name);
  const v = hit?.[field];
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * The endpoint of a kubeconfig's context (the inventory's file, else KUBECONFIG, else ~/.kube/config; its
 * current context unless one is named) when it uses static credentials only; else undefined (see above).
 */
export function leanEndpoint(options: { kubeconfig?: string; context?: string }): LeanEndpoint | undefined {
  // The same file loadKubeConfig reads (kubeconfigSource); several KUBECONFIG files are merged there, not here.
  const file = options.kubeconfig || (process.env.KUBECONFIG?.includes(':') ? undefined : process.env.KUBECONFIG || join(homedir(), '.kube', 'config'));
  if (!file) return undefined;
  let doc: Record<string, unknown>;
  try {
    doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const contextName = options.context ?? (typeof doc['current-context'] === 'string' ? doc['current-context'] : undefined);
  if (!contextName) return undefined;
  const context = named(doc.contexts, contextName, 'context');
  const clusterName = context?.cluster;
  const userName = context?.user;
  if (typeof clusterName !== 'string') return undefined;
  const cluster = named(doc.clusters, clusterName, 'cluster');
  const user = typeof userName === 'string' ? named(doc.users, userName, 'user') : {};
  if (!cluster || !user || typeof cluster.server !== 'string' || !/^https:\/\//.test(cluster.server)) return undefined;
  if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k)) || Object.keys(user).some((k) => !USER_KEYS.has(k))) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const root = dirname(file);
  // A file wins over inline data, and relative paths are relative to the kubeconfig (as client-node reads them).
  const fileOrData = (path: unknown, data: unknown): Buffer | undefined => {
    const p = str(path);
    if (p) return readFileSync(isAbsolute(p) ? p : join(root, p));
    const d = str(data);
    return d ? Buffer.from(d, 'base64') : undefined;
  };
  let tls: AgentOptions;
  try {
    tls = {
      ca: fileOrData(cluster['certificate-authority'], cluster['certificate-authority-data']),
      cert: fileOrData(user['client-certificate'], user['client-certificate-data']),
      key: fileOrData(user['client-key'], user['client-key-data']),
      ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
    };
  } catch {
    return undefined;
  }
  const token = str(user.token);
  const username = str(user.username);
  const password = typeof user.password === 'string' ? user.password : undefined;
  registerSecret(token);
  registerSecret(password);
  registerSecret(str(user['client-key-data']));
  const headers: Record<string, string> = {};
  // As the client-node path ends up: a username (basic auth) wins over a token.
  if (token) headers.Authorization = `Bearer ${token}`;
  if (username) headers.Authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  return { server: cluster.server, connection: async () => ({ headers: { ...headers }, tls }) };
}
