// The roll planner (pure): facts about a role's nodes, the project's quota headroom and the role's server
// group -> the sequence of adds and removes (waves), the refusals that name the quota or rule a roll would
// break, and an ETA. MachineDeployment's rolling update, for VMs: each wave adds up to --max-surge new nodes
// beyond the instances the role had at the start, waits for them, then removes old nodes while the role's
// Ready schedulable count stays at or above what it was at the start minus --max-unavailable.
import { formatMs } from '../../core/retry.js';
import { type ComputeHeadroom, type ComputeQuotaName, quotaLeft } from '../../openstack/quota.js';

/** One node of the role as the roll sees it. */
export interface RollNode {
  hostname: string;
  /** Its VM's image and flavor by name (undefined: no VM, or one OpenStack no longer lists). */
  image?: string;
  flavor?: string;
  /** Cores and RAM (MiB) its VM counts against the quotas. */
  vcpus: number;
  ram: number;
  /** Ready and not cordoned: it counts towards the role's schedulable capacity. */
  schedulable: boolean;
}

/** What the new nodes get. */
export interface RollSpec {
  image: string;
  flavor: string;
  vcpus: number;
  ram: number;
}

/** Which nodes of the role a roll replaces. */
export interface RollSelection {
  /** Only these (--hostname); every node of the role when empty. */
  hostnames: readonly string[];
  /** Keep only nodes whose image or flavor differs from the spec (--only-outdated). */
  onlyOutdated: boolean;
}

/** The targets of a roll (pure): the selection, oldest first as given, and the nodes left out with why. */
export function selectRollTargets(nodes: readonly RollNode[], spec: RollSpec, selection: RollSelection): { targets: RollNode[]; skipped: { node: string; reason: string }[] } {
  const named = selection.hostnames.length ? nodes.filter((n) => selection.hostnames.includes(n.hostname)) : [...nodes];
  const targets: RollNode[] = [];
  const skipped: { node: string; reason: string }[] = [];
  for (const n of named) {
    if (selection.onlyOutdated && n.image === spec.image && n.flavor === spec.flavor) skipped.push({ node: n.hostname, reason: `already on image ${spec.image} and flavor ${spec.flavor}` });
    else targets.push(n);
  }
  return { targets, skipped };
}

/** Everything the planner decides from. */
export interface RollFacts {
  role: string;
  /** The old nodes to replace, in the order to remove them (oldest first). */
  targets: readonly RollNode[];
  /** Names of the new nodes, in order (the role's next indices); at least as many as targets. */
  newNames: readonly string[];
  /** The role's Ready schedulable nodes when the roll begins. */
  capacity: number;
  spec: RollSpec;
  headroom: ComputeHeadroom;
  /** The role's server group: its policy, members now, and how many more the member limit allows. */
  serverGroup?: { name: string; policy: string; members: number; room: number };
  maxSurge: number;
  maxUnavailable: number;
  /** Expected durations: a VM built and booted (new VMs of a wave build at once), one join, one removal. */
  durations: RollDurations;
}

/** Expected durations of a roll's parts (ms). */
export interface RollDurations {
  vmMs: number;
  joinMs: number;
  removeMs: number;
}

/** One wave: nodes added (each Ready with its labels before any remove of the wave), then nodes removed. */
export interface RollWave {
  adds: string[];
  removes: string[];
}

/** Why a roll is refused before anything changes. */
export interface RollRefusal {
  rule: `quota-${ComputeQuotaName}` | 'server-group' | 'no-progress';
  message: string;
  hint: string;
}

/** The planner's answer. */
export interface RollPlan {
  waves: RollWave[];
  /** The most the roll needs beyond what the project uses at the start. */
  peak: { instances: number; cores: number; ram: number };
  /** The lowest Ready schedulable count of the role during the roll. */
  minCapacity: number;
  etaMs: number;
  refusals: RollRefusal[];
}

/** Default expected durations: a VM on a real cloud, a kubeadm join with its Ready wait, a drained removal. */
export const DEFAULT_ROLL_DURATIONS: Readonly<RollDurations> = Object.freeze({ vmMs: 4 * 60_000, joinMs: 2 * 60_000, removeMs: 4 * 60_000 });

/** The waves of a roll under the surge and unavailability limits (see the module comment). */
function waves(facts: RollFacts, maxSurge: number): { waves: RollWave[]; peak: RollPlan['peak']; minCapacity: number; stuck: boolean } {
  const old = facts.targets.map((t) => ({ ...t }));
  // Old nodes that do not count towards capacity go first: removing them costs nothing.
  old.sort((a, b) => Number(a.schedulable) - Number(b.schedulable));
  const fresh = facts.newNames.slice(0, facts.targets.length);
  const floor = facts.capacity - facts.maxUnavailable;
  const out: RollWave[] = [];
  let capacity = facts.capacity;
  let minCapacity = capacity;
  let extra = 0; // instances beyond the start
  const use = { cores: 0, ram: 0 };
  const peak = { instances: 0, cores: 0, ram: 0 };
  while (old.length || fresh.length) {
    const adds = fresh.splice(0, Math.max(0, Math.min(maxSurge - extra, fresh.length)));
    extra += adds.length;
    capacity += adds.length;
    use.cores += adds.length * facts.spec.vcpus;
    use.ram += adds.length * facts.spec.ram;
    peak.instances = Math.max(peak.instances, extra);
    peak.cores = Math.max(peak.cores, use.cores);
    peak.ram = Math.max(peak.ram, use.ram);
    const removes: string[] = [];
    while (old.length && capacity - Number(old[0]!.schedulable) >= floor) {
      const n = old.shift()!;
      removes.push(n.hostname);
      capacity -= Number(n.schedulable);
      extra -= 1;
      use.cores -= n.vcpus;
      use.ram -= n.ram;
    }
    minCapacity = Math.min(minCapacity, capacity);
    if (adds.length === 0 && removes.length === 0) return { waves: out, peak, minCapacity, stuck: true };
    out.push({ adds, removes });
  }
  return { waves: out, peak, minCapacity, stuck: false };
}

/** What a plan's peak needs that the headroom does not hold: one refusal per quota, and the server group. */
function overLimits(facts: RollFacts, peak: RollPlan['peak']): RollRefusal[] {
  const out: RollRefusal[] = [];
  const units: Record<ComputeQuotaName, string> = { instances: 'instance(s)', cores: 'core(s)', ram: 'MiB of RAM' };
  for (const q of ['instances', 'cores', 'ram'] as const) {
    const left = quotaLeft(facts.headroom[q]);
    if (peak[q] > left) {
      const row = facts.headroom[q];
      out.push({
        rule: `quota-${q}`,
        message: `OpenStack quota ${q}: the roll needs ${peak[q]} more ${units[q]} at its peak (up to ${peak.instances} new ${facts.spec.flavor} VM(s) before old ones go), the project has ${left} left (${row.inUse} of ${row.limit} in use)`,
        hint: '',
      });
    }
  }
  const g = facts.serverGroup;
  if (g && peak.instances > g.room) {
    out.push({
      rule: 'server-group',
      message: `server group ${g.name} (${g.policy}): the roll needs room for ${peak.instances} more member(s) at its peak, the member limit leaves ${g.room} (${g.members} member(s) now)`,
      hint: '',
    });
  }
  return out;
}

/** Plans a roll (pure): waves, peak needs, lowest capacity, ETA and refusals with hints. */
export function planRoll(facts: RollFacts): RollPlan {
  const w = waves(facts, facts.maxSurge);
  const d = facts.durations;
  const etaMs = w.waves.reduce((acc, wave) => acc + (wave.adds.length ? d.vmMs + wave.adds.length * d.joinMs : 0) + wave.removes.length * d.removeMs, 0);
  const refusals: RollRefusal[] = [];
  if (w.stuck) {
    refusals.push({
      rule: 'no-progress',
      message: `the roll of role ${facts.role} cannot make progress: --max-surge ${facts.maxSurge} adds no node and --max-unavailable ${facts.maxUnavailable} lets no node go (${facts.capacity} Ready schedulable now)`,
      hint: 'allow a surge (--max-surge 1, the default) or some unavailability (--max-unavailable 1)',
    });
    return { waves: w.waves, peak: w.peak, minCapacity: w.minCapacity, etaMs, refusals };
  }
  const over = overLimits(facts, w.peak);
  if (over.length) {
    // The largest surge the limits hold (with the same --max-unavailable), to suggest.
    let fits: number | undefined;
    for (let s = facts.maxSurge - 1; s >= 0 && fits === undefined; s--) {
      const smaller = waves(facts, s);
      if (!smaller.stuck && overLimits(facts, smaller.peak).length === 0) fits = s;
    }
    const hint =
      fits !== undefined
        ? `run with --max-surge ${fits}${fits === 0 ? ` (with --max-unavailable ${facts.maxUnavailable})` : ''}, which the limits hold, or ask the cloud admins to raise them`
        : facts.maxUnavailable === 0
          ? 'ask the cloud admins to raise the limit, or allow --max-unavailable 1 with --max-surge 0 (old nodes go before new ones come)'
          : 'ask the cloud admins to raise the limit';
    for (const r of over) refusals.push({ ...r, hint });
  }
  return { waves: w.waves, peak: w.peak, minCapacity: w.minCapacity, etaMs, refusals };
}

/** The plan as lines for the operator (dry-run and the confirmation): the waves and the ETA. */
export function describePlan(plan: RollPlan, spec: RollSpec): string[] {
  const lines = plan.waves.map((w, i) => {
    const parts = [];
    if (w.adds.length) parts.push(`add ${w.adds.join(', ')} (${spec.image}, ${spec.flavor})`);
    if (w.removes.length) parts.push(`remove ${w.removes.join(', ')}`);
    return `wave ${i + 1}: ${parts.join('; then ')}`;
  });
  lines.push(`peak: +${plan.peak.instances} instance(s), +${plan.peak.cores} core(s), +${plan.peak.ram} MiB RAM; lowest Ready schedulable count ${plan.minCapacity}; ETA ${formatMs(plan.etaMs)}`);
  return lines;
}
