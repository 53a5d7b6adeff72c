// Validation of everything that names a host before it is used: inventory host names (DNS labels), raw
// addresses, resolver answers and the ProxyJump-style jump host spec. Bad input is an InputError (exit 2),
// raised before any connection is made.
import { isIP } from 'node:net';
import { InputError } from '../core/errors.js';
import { isDnsLabel } from '../inventory/naming.js';

/** A host we can connect to: the name callers use, the address we dial and its port. */
export interface ResolvedHost {
  /** The name as given (inventory host name or raw address). */
  host: string;
  address: string;
  port: number;
}

/** A parsed jump host: `[user@]host[:port]`. */
export interface JumpHostSpec {
  user?: string;
  host: string;
  port?: number;
}

const USER = /^[a-z_][a-z0-9_-]*$/;

/** True when `text` is an IPv4 or IPv6 address. */
export function isAddress(text: string): boolean {
  return isIP(text) !== 0;
}

/** True when `name` is a DNS name: one or more DNS labels joined by dots (at most 253 characters). */
export function isDnsName(name: string): boolean {
  return typeof name === 'string' && name.length <= 253 && name.split('.').every((label) => isDnsLabel(label.toLowerCase()));
}

/** Validates a target given by a caller: a DNS label (inventory host name) or an IP address. */
export function validateTarget(host: string): { kind: 'name' | 'address'; host: string } {
  if (typeof host === 'string' && isAddress(host)) return { kind: 'address', host };
  if (typeof host === 'string' && isDnsLabel(host)) return { kind: 'name', host };
  throw new InputError(`invalid host ${JSON.stringify(host)}: must be a host name (a DNS label: lowercase letters, digits and "-") or an IP address`, {
    context: { host },
  });
}

/** Validates a port number (1..65535). */
export function validatePort(port: unknown, what = 'port'): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InputError(`invalid ${what} ${JSON.stringify(port)}: must be an integer 1..65535`, { context: { [what]: port } });
  }
  return port;
}

/** Validates what a resolver returned for `host`: an IP address or DNS name, and a port. */
export function validateResolved(host: string, answer: { address: string; port: number }): ResolvedHost {
  const address = answer?.address;
  if (typeof address !== 'string' || !(isAddress(address) || isDnsName(address))) {
    throw new InputError(`resolver gave an invalid address for ${host}: ${JSON.stringify(address)}`, { context: { host, address } });
  }
  return { host, address, port: validatePort(answer.port) };
}

/** Parses a ProxyJump-style `[user@]host[:port]` (host: DNS name, IPv4, or [IPv6]). */
export function parseJumpHost(spec: string): JumpHostSpec {
  const fail = (): never => {
    throw new InputError(`invalid jump host ${JSON.stringify(spec)}: expected [user@]host[:port]`, {
      context: { jumpHost: spec },
      hint: 'set cluster.ssh.jumpHost like bastion.example.org, ops@bastion.example.org or ops@203.0.113.7:2222',
    });
  };
  if (typeof spec !== 'string' || spec.includes(',')) fail();
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d+))?$/.exec(spec);
  if (!m) return fail();
  const [, user, rawHost, rawPort] = m;
  const host = rawHost!.startsWith('[') ? rawHost!.slice(1, -1) : rawHost!;
  if (user !== undefined && !USER.test(user)) fail();
  if (!(isAddress(host) || isDnsName(host))) fail();
  if (rawHost!.startsWith('[') && isIP(host) !== 6) fail();
  const out: JumpHostSpec = { host };
  if (user !== undefined) out.user = user;
  if (rawPort !== undefined) out.port = validatePort(Number(rawPort), 'jump host port');
  return out;
}

/** The name a known_hosts file uses for a host: `name` on port 22, `[name]:port` otherwise. */
export function knownHostsName(name: string, port: number): string {
  return port === 22 ? name : `[${name}]:${port}`;
}
