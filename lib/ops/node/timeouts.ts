// How long the node operations wait, declared in one place: every op takes `timeouts` (a partial override)
// and falls back to these defaults, so a cookbook option or a test changes one value without editing the ops.

/** The deadlines of the node operations, in milliseconds. */
export interface NodeTimeouts {
  /** Each provisioning command of a new host (apt-get can be slow on a fresh image). */
  provisionMs: number;
  /** `kubeadm join` on the new host. */
  joinMs: number;
  /** A joined node becoming Ready. */
  readyMs: number;
  /** `kubeadm reset` on a host being removed. */
  resetMs: number;
  /** A new VM reaching ACTIVE. */
  vmActiveMs: number;
  /** cloud-init printing the SSH host key fingerprints to the console log. */
  hostKeysMs: number;
  /** A deleted VM disappearing from OpenStack. */
  vmDeleteMs: number;
  /** One SSH probe of a host before anything changes. */
  sshProbeMs: number;
  /** Connecting to a new host to see whether its host key is trusted already. */
  sshConnectMs: number;
  /** Reading a host's boot id before a reboot. */
  bootIdMs: number;
  /** Reading a host's boot id while it may be rebooting (short: it is polled). */
  bootIdPollMs: number;
  /** A join token's cleanup command (its own deadline: not cancelled by SIGINT). */
  tokenCleanupMs: number;
}

/** The defaults of NodeTimeouts. */
export const NODE_TIMEOUTS: Readonly<NodeTimeouts> = Object.freeze({
  provisionMs: 15 * 60_000,
  joinMs: 10 * 60_000,
  readyMs: 10 * 60_000,
  resetMs: 5 * 60_000,
  vmActiveMs: 15 * 60_000,
  hostKeysMs: 10 * 60_000,
  vmDeleteMs: 10 * 60_000,
  sshProbeMs: 15_000,
  sshConnectMs: 10_000,
  bootIdMs: 10_000,
  bootIdPollMs: 5000,
  tokenCleanupMs: 20_000,
});

/** The defaults with a caller's overrides applied. */
export function nodeTimeouts(overrides: Partial<NodeTimeouts> = {}): NodeTimeouts {
  return { ...NODE_TIMEOUTS, ...overrides };
}

/**
 * How cookbooks poll a Node they wait for (a reboot's new boot id and Ready, an upgrade's kubelet): from
 * 100 ms, x1.5, at most every 2 s. The twin's calibration (lib/twin/timings.ts) takes this polling's expected
 * overrun off the waits it reads from journals.
 */
export const NODE_POLL_BACKOFF: Readonly<{ initialMs: number; maxMs: number; factor: number }> = Object.freeze({ initialMs: 100, maxMs: 2000, factor: 1.5 });
