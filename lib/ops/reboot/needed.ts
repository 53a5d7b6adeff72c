// --only-if-needed of k8s.reboot: whether a host has a reboot pending (the reboot-required sentinel, or a
// running kernel older than the newest one installed), read over SSH with read-only commands.
import { messageOf } from '../../core/errors.js';
import { mapLimit } from '../../core/pool.js';
import type { Remote } from '../../remote/index.js';
import { naturalCompare } from '../rollout/units.js';

/** The sentinel unattended-upgrades and needrestart leave when a reboot is due. */
export const REBOOT_REQUIRED = '/var/run/reboot-required';

/** Compares Debian kernel release strings (6.1.0-25-amd64 < 6.1.0-28-amd64 < 6.10.0-1-amd64). */
export function compareKernels(a: string, b: string): number {
  return naturalCompare(a, b);
}

/** The kernel versions that have an image in a `ls /boot` listing (vmlinuz-VERSION). */
export function installedKernels(listing: string): string[] {
  return listing
    .split(/\s+/)
    .map((f) => /^vmlinuz-(.+)$/.exec(f.trim())?.[1])
    .filter((v): v is string => v !== undefined)
    .sort(compareKernels);
}

/** Why a host needs a reboot: the sentinel, or a newer installed kernel than the running one; undefined if not. */
export function rebootReason(facts: { sentinel: boolean; running: string; installed: readonly string[] }): string | undefined {
  if (facts.sentinel) return `${REBOOT_REQUIRED} exists`;
  const newest = [...facts.installed].sort(compareKernels).at(-1);
  if (newest && compareKernels(newest, facts.running) > 0) return `running kernel ${facts.running}, newest installed ${newest}`;
  return undefined;
}

/** Reads (read-only commands) whether a host has a reboot pending; the reason, or undefined when it has none. */
export async function pendingReboot(remote: Remote, host: string): Promise<string | undefined> {
  const sentinel = await remote.query(host, ['test', '-e', REBOOT_REQUIRED], { okExitCodes: [0, 1], sudo: false, timeoutMs: 30_000 });
  const running = (await remote.query(host, ['uname', '-r'], { sudo: false, timeoutMs: 30_000 })).stdout.trim();
  const boot = await remote.query(host, ['ls', '/boot'], { sudo: false, timeoutMs: 30_000 });
  return rebootReason({ sentinel: sentinel.exitCode === 0, running, installed: installedKernels(boot.stdout) });
}

/** Keeps the hosts with a pending reboot (checked a few at a time); the others are returned with why not. */
export async function filterNeedingReboot(
  remote: Remote,
  hosts: readonly string[],
  concurrency = 8,
): Promise<{ needed: { node: string; reason: string }[]; notNeeded: string[]; unreachable: { node: string; error: string }[] }> {
  const needed: { node: string; reason: string }[] = [];
  const notNeeded: string[] = [];
  const unreachable: { node: string; error: string }[] = [];
  await mapLimit(hosts, concurrency, async (host) => {
    try {
      const reason = await pendingReboot(remote, host);
      if (reason) needed.push({ node: host, reason });
      else notNeeded.push(host);
    } catch (err) {
      unreachable.push({ node: host, error: messageOf(err) });
    }
  });
  const order = (a: { node: string }, b: { node: string }): number => naturalCompare(a.node, b.node);
  return { needed: needed.sort(order), notNeeded: notNeeded.sort(naturalCompare), unreachable: unreachable.sort(order) };
}
