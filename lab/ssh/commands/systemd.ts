// systemctl for the units cookbooks touch (kubelet, containerd, etcd, haproxy, ssh) and the reboot commands.
// A unit exists only when its package is installed; kubelet that runs without having joined a cluster is
// "activating" (it crash-loops until kubeadm writes its config), as on a real node.
import { haproxyOf } from '../../haproxy/registry.js';
import type { LabHost } from '../../world.js';
import type { CommandIO, CommandSpec, Shell } from '../interpreter.js';

/** Units the lab knows, with the package that ships each and a description for `systemctl status`. */
export const UNITS: Record<string, { package?: string; description: string }> = {
  kubelet: { package: 'kubelet', description: 'kubelet: The Kubernetes Node Agent' },
  containerd: { package: 'containerd', description: 'containerd container runtime' },
  etcd: { package: 'etcd-server', description: 'etcd - highly-available key value store' },
  haproxy: { package: 'haproxy', description: 'HAProxy Load Balancer' },
  ssh: { description: 'OpenBSD Secure Shell server' },
};

const ALIASES: Record<string, string> = { sshd: 'ssh' };

function unitName(arg: string): string {
  const base = arg.replace(/\.service$/, '');
  return ALIASES[base] ?? base;
}

function unitExists(host: LabHost, unit: string): boolean {
  const u = UNITS[unit];
  return !!u && (!u.package || host.packages.has(u.package));
}

/** The kubelet version a (re)started kubelet reports: the installed package's upstream version. */
export function kubeletPackageVersion(host: LabHost): string | undefined {
  const v = host.packages.get('kubelet');
  return v?.replace(/-[^-]*$/, '');
}

/** The state `systemctl is-active` prints for a unit. */
export function activeState(host: LabHost, unit: string): 'active' | 'inactive' | 'activating' {
  if (!unitExists(host, unit) || !host.services.get(unit)) return 'inactive';
  if (unit === 'kubelet' && !host.kubelet.joined) return 'activating';
  return 'active';
}

/** Starts or stops a unit and tells the Kubernetes side when kubelet or the runtime changed. */
export function setActive(host: LabHost, sh: Shell, unit: string, active: boolean, restart = false): void {
  const was = host.services.get(unit) ?? false;
  host.services.set(unit, active);
  if (unit === 'kubelet' && active && (restart || !was)) {
    const v = kubeletPackageVersion(host);
    if (v) host.kubelet.version = v;
  }
  if ((unit === 'kubelet' || unit === 'containerd') && (was !== active || restart)) sh.world.emit('kubelet-changed', host);
  if (unit === 'etcd' && (was !== active || restart)) sh.world.emit('etcd-unit', host, { active, restart });
  if (unit === 'haproxy' && (was !== active || restart)) haproxyOf(sh.world)?.unitChanged(host, { active, restart });
}

/** systemctl on the haproxy unit of a lab running real HAProxy: the real process answers (undefined: no real one). */
async function haproxyVerb(sh: Shell, io: CommandIO, verb: string, now: boolean): Promise<number | undefined> {
  const lb = haproxyOf(sh.world);
  if (!lb) return undefined;
  const action = verb === 'enable' ? 'start' : verb === 'disable' ? 'stop' : verb;
  if (!now && (verb === 'enable' || verb === 'disable')) return 0;
  const r = await lb.control(sh.host, action as 'start' | 'stop' | 'restart' | 'reload' | 'try-restart');
  io.out(r.stdout);
  io.err(r.stderr);
  return r.code;
}

/** After a reboot, exactly the enabled units run; called when a host goes down (nobody can look meanwhile). */
export function servicesAfterBoot(host: LabHost): void {
  if (!host.enabledServices) return;
  for (const unit of Object.keys(UNITS)) {
    if (unitExists(host, unit)) host.services.set(unit, host.enabledServices.has(unit));
  }
}

function statusText(host: LabHost, unit: string, mainPid?: number): string {
  const state = activeState(host, unit);
  const enabled = host.enabledServices?.has(unit) ? 'enabled' : 'disabled';
  const since = new Date(host.bootedAt).toUTCString().replace('GMT', 'UTC');
  const active =
    state === 'active' ? `active (running) since ${since}` : state === 'activating' ? 'activating (auto-restart) (Result: exit-code)' : 'inactive (dead)';
  return [
    `${state === 'active' ? '●' : '○'} ${unit}.service - ${UNITS[unit]!.description}`,
    `     Loaded: loaded (/lib/systemd/system/${unit}.service; ${enabled}; preset: enabled)`,
    `     Active: ${active}`,
    ...(mainPid ? [`   Main PID: ${mainPid} (${unit})`] : []),
    '',
  ].join('\n');
}

async function runSystemctl(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  const host = sh.host;
  const flags = args.filter((a) => a.startsWith('-'));
  const [verb, ...units] = args.filter((a) => !a.startsWith('-'));
  const now = flags.includes('--now');
  const quiet = flags.includes('-q') || flags.includes('--quiet');
  if (verb === undefined) {
    io.out('  UNIT                LOAD   ACTIVE SUB     DESCRIPTION\n');
    return 0;
  }
  switch (verb) {
    case 'daemon-reload':
      sh.mutation();
      return 0;
    case 'reboot':
      sh.mutation();
      sh.requestReboot();
      return 0;
    case 'poweroff':
    case 'halt':
      io.err('lab: powering a host off is not supported; stop its server through OpenStack\n');
      return 1;
    case 'is-active': {
      let status = 0;
      for (const u of units.map(unitName)) {
        const state = activeState(host, u);
        if (!quiet) io.out(state + '\n');
        if (state !== 'active') status = 3;
      }
      return units.length ? status : 3;
    }
    case 'is-enabled': {
      let status = 0;
      for (const u of units.map(unitName)) {
        if (!unitExists(host, u)) {
          io.err(`Failed to get unit file state for ${u}.service: No such file or directory\n`);
          status = 1;
          continue;
        }
        const enabled = host.enabledServices?.has(u) ?? false;
        if (!quiet) io.out(enabled ? 'enabled\n' : 'disabled\n');
        if (!enabled) status = 1;
      }
      return status;
    }
    case 'status': {
      let status = 0;
      for (const u of units.map(unitName)) {
        if (!unitExists(host, u)) {
          io.err(`Unit ${u}.service could not be found.\n`);
          status = 4;
          continue;
        }
        // A real process behind the unit (the lab's HAProxy): its PID, as systemd shows it.
        io.out(statusText(host, u, u === 'haproxy' ? haproxyOf(sh.world)?.pids()[host.name]?.[0] : undefined));
        if (activeState(host, u) !== 'active' && status === 0) status = 3;
      }
      return status;
    }
    case 'start':
    case 'stop':
    case 'restart':
    case 'reload':
    case 'try-restart':
    case 'enable':
    case 'disable': {
      if (units.length === 0) {
        io.err(`Too few arguments.\n`);
        return 1;
      }
      sh.mutation();
      for (const u of units.map(unitName)) {
        if (!unitExists(host, u)) {
          const what = verb === 'enable' || verb === 'disable' ? `${verb} unit: Unit file ${u}.service does not exist.` : `${verb} ${u}.service: Unit ${u}.service not found.`;
          io.err(`Failed to ${what}\n`);
          return verb === 'enable' || verb === 'disable' ? 1 : 5;
        }
        // A real process answers for haproxy (when the lab runs one): its start or reload can fail.
        const real = u === 'haproxy' && (verb !== 'enable' || now) && (verb !== 'disable' || now);
        if (verb === 'enable') {
          host.enabledServices ??= new Set();
          if (!host.enabledServices.has(u)) io.err(`Created symlink /etc/systemd/system/multi-user.target.wants/${u}.service → /lib/systemd/system/${u}.service.\n`);
          host.enabledServices.add(u);
        } else if (verb === 'disable') {
          if (host.enabledServices?.delete(u)) io.err(`Removed "/etc/systemd/system/multi-user.target.wants/${u}.service".\n`);
        }
        const code = real ? await haproxyVerb(sh, io, verb, now) : undefined;
        if (code !== undefined) {
          if (code !== 0) return code;
        } else if (verb === 'enable' || verb === 'disable') {
          if (now) setActive(host, sh, u, verb === 'enable');
        } else if (verb === 'stop') {
          setActive(host, sh, u, false);
        } else if (verb === 'start') {
          setActive(host, sh, u, true);
        } else if (verb === 'try-restart') {
          if (host.services.get(u)) setActive(host, sh, u, true, true);
        } else {
          setActive(host, sh, u, true, true);
        }
      }
      return 0;
    }
    default:
      io.err(`Unknown command verb ${verb}.\n`);
      return 1;
  }
}

const systemctl: CommandSpec = { run: (args, io, sh) => runSystemctl(args, io, sh) };

const reboot: CommandSpec = {
  run(args, io, sh) {
    if (args.some((a) => a === '-p' || a === '--poweroff')) {
      io.err('lab: powering a host off is not supported\n');
      return 1;
    }
    sh.mutation();
    sh.requestReboot();
    return 0;
  },
};

const shutdown: CommandSpec = {
  run(args, io, sh) {
    const reboot = args.includes('-r') || args.includes('--reboot');
    const when = args.find((a) => !a.startsWith('-')) ?? '+1';
    if (args.includes('-c')) {
      io.err('lab: no scheduled shutdown to cancel\n');
      return 1;
    }
    if (!reboot) {
      io.err('lab: powering a host off is not supported; use shutdown -r now\n');
      return 1;
    }
    if (when !== 'now' && when !== '+0') {
      io.err(`lab: only immediate reboots are supported (shutdown -r now), not ${when}\n`);
      return 1;
    }
    sh.mutation();
    sh.requestReboot();
    return 0;
  },
};

/** The systemd command table. */
export const systemdCommands: Record<string, CommandSpec> = { systemctl, reboot, shutdown };
