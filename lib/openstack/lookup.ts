// Pure helpers of the OpenStack client: lookups by name or id, input checks, address picking, user data.
import { isIP } from 'node:net';
import { InputError } from '../core/errors.js';
import { type Planned, isPlanned } from '../core/gate.js';
import { OpenStackAmbiguousError, OpenStackExistsError, OpenStackLookupError } from './errors.js';
import type { Server, ServerAddress, ServerGroup } from './types.js';

const SERVER_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/;

/** A server group as Nova returns it (policy or policies, by microversion). */
export interface RawServerGroup {
  id: string;
  name: string;
  policy?: string;
  policies?: string[];
  members?: string[];
  [k: string]: unknown;
}

/** One policy and a member list, whatever the microversion. */
export function normaliseGroup(raw: RawServerGroup): ServerGroup {
  return { ...raw, policy: raw.policy ?? raw.policies?.[0] ?? 'unknown', members: raw.members ?? [] };
}

/** The server's IPv4 address from its address list (pure). */
export function pickIPv4(server: Server, options: { network?: string; type?: 'fixed' | 'floating' } = {}): string | undefined {
  const entries = Object.entries(server.addresses ?? {}).filter(([net]) => !options.network || net === options.network);
  const all: ServerAddress[] = entries.flatMap(([, list]) => list).filter((a) => a.version === 4 || isIP(a.addr) === 4);
  const typed = (t: 'fixed' | 'floating'): ServerAddress | undefined => all.find((a) => (a['OS-EXT-IPS:type'] ?? 'fixed') === t);
  if (options.type) return typed(options.type)?.addr;
  return (typed('fixed') ?? all[0])?.addr;
}

/** The item with this id, else the one with this name; OpenStackAmbiguousError for several. */
export function pickOne<T extends { id: string; name: string }>(items: readonly T[], nameOrId: string, kind: string): T | undefined {
  const byId = items.find((i) => i.id === nameOrId);
  if (byId) return byId;
  const byName = items.filter((i) => i.name === nameOrId);
  if (byName.length > 1) {
    throw new OpenStackAmbiguousError(`${byName.length} ${kind}s are named ${nameOrId}: ${byName.map((i) => i.id).join(', ')}`, {
      context: { kind, name: nameOrId, ids: byName.map((i) => i.id) },
      hint: `use the ${kind}'s id instead of its name`,
    });
  }
  return byName[0];
}

/** The value, or an OpenStackLookupError naming the kind and the known names. */
export async function required<T>(value: T | undefined, kind: string, nameOrId: string, names: () => Promise<string[]>): Promise<T> {
  if (value !== undefined) return value;
  const known = await names().catch(() => []);
  throw new OpenStackLookupError(`no ${kind} named ${nameOrId}`, {
    context: { kind, name: nameOrId, ...(known.length ? { known: known.slice(0, 30) } : {}) },
    hint: known.length ? `known ${kind}s: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}` : `check the ${kind} name in the inventory`,
  });
}

/** InputError unless `id` looks like an OpenStack id. */
export function requireId(id: string, kind: string): void {
  if (typeof id !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) {
    throw new InputError(`not a ${kind} id: ${JSON.stringify(id)}`, { hint: `give the ${kind}'s id (a UUID)` });
  }
}

/** InputError unless `name` is a valid server (host) name. */
export function requireServerName(name: string): void {
  if (!SERVER_NAME.test(name)) {
    throw new InputError(`invalid server name ${JSON.stringify(name)}`, {
      hint: 'server names are host names: letters, digits, "-" and ".", at most 63 characters',
    });
  }
}

/** Server metadata within Nova's limits, or an InputError. */
export function checkedMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const entries = Object.entries(metadata);
  if (entries.length > 128) throw new InputError(`too many metadata items (${entries.length}; Nova allows 128)`);
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 255 || typeof v !== 'string' || v.length > 255) {
      throw new InputError(`bad server metadata item ${JSON.stringify(k)}`, { hint: 'keys of 1-255 characters, string values up to 255 characters' });
    }
  }
  return { ...metadata };
}

/** Base64 of the user data; Nova refuses more than 65535 bytes once encoded. */
export function encodeUserData(data: string | Buffer): string {
  const encoded = (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64');
  if (encoded.length > 65535) {
    throw new InputError(`user data is ${encoded.length} bytes base64-encoded; Nova accepts at most 65535`, {
      hint: 'shrink the cloud-init data (gzip it, or fetch the bulk from elsewhere)',
    });
  }
  return encoded;
}

/** The refusal of a create whose name exists (names are unique in the project). */
export function existsError(name: string, existing: Server): OpenStackExistsError {
  return new OpenStackExistsError(`a server named ${name} exists already (${existing.id}, ${existing.status})`, {
    context: { name, id: existing.id, status: existing.status },
    hint: `server names are unique in this project: pick another name, or delete the existing server first (openstack server delete ${existing.id})`,
  });
}

/** A server, id or planned server for messages. */
export function describe(server: string | Server | Planned): string {
  if (isPlanned(server)) return server.change.target.replace(/^server\//, '');
  return typeof server === 'string' ? server : `${server.name} (${server.id})`;
}
