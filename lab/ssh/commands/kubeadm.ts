// kubeadm on a lab host. Host-level checks (preflight, flag rules, the binary's own version, prompts) happen
// here; everything that concerns the cluster (tokens, CA hash, certificate keys, node registration, upgrades,
// certificates) goes to world.kubeadm, the backend the lab's Kubernetes API provides.
import { randomBytes } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { LabHost } from '../../world.js';
import type { CommandIO, CommandSpec, Shell } from '../interpreter.js';
import * as fs from '../fs.js';
import { setActive } from './systemd.js';
import { STACK_HINT, KubeadmFailure, backendOf, confirm, isTrue, kubeadmVersion, markJoined, markReset, one, parseFlags, parseGoDuration, requireAdminConf, semverCompare, writeApiserverManifest } from './kubeadm-host.js';

const JOIN_FLAGS = {
  bool: ['control-plane', 'discovery-token-unsafe-skip-ca-verification', 'dry-run', 'help'],
  value: [
    'token',
    'discovery-token',
    'tls-bootstrap-token',
    'discovery-token-ca-cert-hash',
    'discovery-file',
    'certificate-key',
    'config',
    'node-name',
    'ignore-preflight-errors',
    'apiserver-advertise-address',
    'apiserver-bind-port',
    'cri-socket',
    'skip-phases',
    'patches',
    'v',
  ],
};

/** Flags kubeadm allows next to --config (configutil.ValidateMixedArguments). */
const MIXABLE = new Set(['config', 'ignore-preflight-errors', 'dry-run', 'kubeconfig', 'node-name', 'kubeconfig-dir', 'upload-certs', 'print-manifest', 'v', 'yes']);

interface JoinArgs {
  apiServer: string;
  token: string;
  caCertHash: string;
  controlPlane: boolean;
  certificateKey?: string;
  ignore: Set<string>;
}

async function joinArgs(args: string[], io: CommandIO, sh: Shell): Promise<JoinArgs> {
  const parsed = parseFlags(args, JOIN_FLAGS);
  if (parsed.error) throw new KubeadmFailure(parsed.error);
  const { flags, positional } = parsed;
  const ignore = new Set((flags.get('ignore-preflight-errors') ?? []).flatMap((v) => v.split(',')).map((s) => s.trim().toLowerCase()));
  const configPath = one(flags, 'config');
  if (configPath !== undefined) {
    const mixed = [...flags.keys()].filter((f) => !MIXABLE.has(f) && !f.startsWith('skip-')).sort();
    if (mixed.length) throw new KubeadmFailure(`can not mix '--config' with arguments [${mixed.join(' ')}]`);
    let text: string | undefined;
    if (configPath === '/dev/stdin') text = await io.stdin();
    else text = fs.readFile(sh.host, sh.path(configPath));
    if (text === undefined) throw new KubeadmFailure(`unable to read config from "${configPath}" : open ${configPath}: no such file or directory`);
    let docs: unknown[];
    try {
      docs = text
        .split(/^---\s*$/m)
        .map((d) => parseYaml(d) as unknown)
        .filter((d) => d && typeof d === 'object');
    } catch (err) {
      throw new KubeadmFailure(`unable to decode config from "${configPath}": ${(err as Error).message.split('\n')[0]}`);
    }
    const join = docs.find((d) => (d as { kind?: string }).kind === 'JoinConfiguration') as Record<string, any> | undefined;
    if (!join) throw new KubeadmFailure(`no JoinConfiguration kind was found in the YAML file ${configPath}`);
    const bt = join.discovery?.bootstrapToken ?? {};
    const token = bt.token ?? join.discovery?.tlsBootstrapToken;
    if (!bt.apiServerEndpoint || !token) {
      throw new KubeadmFailure('discovery.bootstrapToken: Invalid value: "": bootstrapToken or file must be set');
    }
    const hashes: string[] = bt.caCertHashes ?? [];
    if (hashes.length === 0 && !bt.unsafeSkipCAVerification) {
      throw new KubeadmFailure('discovery.bootstrapToken.caCertHashes: Invalid value: "": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue');
    }
    const cp = join.controlPlane;
    return {
      apiServer: String(bt.apiServerEndpoint),
      token: String(token),
      caCertHash: String(hashes[0] ?? ''),
      controlPlane: !!cp,
      certificateKey: cp?.certificateKey ? String(cp.certificateKey) : undefined,
      ignore: new Set([...ignore, ...((join.nodeRegistration?.ignorePreflightErrors ?? []) as string[]).map((s) => s.toLowerCase())]),
    };
  }
  const apiServer = positional[0];
  if (!apiServer) throw new KubeadmFailure('discovery: Invalid value: "": bootstrapToken or file must be set');
  const token = one(flags, 'discovery-token') ?? one(flags, 'token');
  if (!token) throw new KubeadmFailure('discovery: Invalid value: "": bootstrapToken or file must be set');
  const hash = one(flags, 'discovery-token-ca-cert-hash');
  if (!hash && !isTrue(flags, 'discovery-token-unsafe-skip-ca-verification')) {
    throw new KubeadmFailure(
      'discovery.bootstrapToken.caCertHashes: Invalid value: "": using token-based discovery without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification flag to continue',
    );
  }
  const controlPlane = isTrue(flags, 'control-plane');
  const certificateKey = one(flags, 'certificate-key');
  if (certificateKey && !controlPlane) throw new KubeadmFailure('certificate-key: Invalid value: "": --certificate-key can only be used with --control-plane');
  return { apiServer, token, caCertHash: hash ?? '', controlPlane, certificateKey, ignore };
}

function preflight(host: LabHost, args: JoinArgs): void {
  const errors: [string, string][] = [];
  if (host.kubelet.joined || fs.readFile(host, '/etc/kubernetes/kubelet.conf') !== undefined) {
    errors.push(['FileAvailable--etc-kubernetes-kubelet.conf', '/etc/kubernetes/kubelet.conf already exists']);
    errors.push(['Port-10250', 'Port 10250 is in use']);
  }
  if (!host.packages.has('containerd') || !host.services.get('containerd')) {
    errors.push([
      'CRI',
      'container runtime is not running: output: time="" level=fatal msg="validate service connection: validate CRI v1 runtime API for endpoint \\"unix:///var/run/containerd/containerd.sock\\": rpc error: code = Unavailable desc = connection error: desc = \\"transport: Error while dialing: dial unix /var/run/containerd/containerd.sock: connect: no such file or directory\\""',
    ]);
  }
  if (!host.packages.has('kubelet')) {
    errors.push(['KubeletVersion', `couldn't get kubelet version: cannot execute 'kubelet --version': exec: "kubelet": executable file not found in $PATH`]);
  }
  const fatal = errors.filter(([name]) => !args.ignore.has('all') && !args.ignore.has(name.toLowerCase()));
  if (fatal.length) {
    throw new KubeadmFailure(
      'error execution phase preflight: [preflight] Some fatal errors occurred:\n' +
        fatal.map(([n, m]) => `\t[ERROR ${n}]: ${m}\n`).join('') +
        '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`',
    );
  }
}

async function join(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  const host = sh.host;
  const ja = await joinArgs(args, io, sh);
  sh.mutation();
  io.out('[preflight] Running pre-flight checks\n');
  preflight(host, ja);
  const backend = backendOf(sh, ja.apiServer);
  io.out('[preflight] Reading configuration from the cluster...\n');
  if (sh.world.faults.joinFailures?.includes(host.name)) {
    throw new KubeadmFailure('error execution phase kubelet-start: error uploading crisocket: timed out waiting for the condition');
  }
  try {
    backend.join(host, { apiServer: ja.apiServer, token: ja.token, caCertHash: ja.caCertHash, controlPlane: ja.controlPlane, certificateKey: ja.certificateKey });
  } catch (err) {
    throw new KubeadmFailure((err as Error).message);
  }
  // The backend marks the host joined and tells the world; we add what kubeadm leaves on the disk.
  const changed = !host.kubelet.joined || host.kubelet.controlPlane !== ja.controlPlane;
  markJoined(host, ja.controlPlane);
  if (changed) sh.world.emit('kubelet-changed', host);
  if (ja.controlPlane) writeApiserverManifest(host, sh.world);
  if (ja.controlPlane) {
    io.out(
      '[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n' +
        '[control-plane] Creating static Pod manifests\n[etcd] External etcd mode: Skipping etcd checks\n' +
        '[kubelet-start] Starting the kubelet\n[mark-control-plane] Marking the node ' +
        `${host.name} as control-plane\n\nThis node has joined the cluster and a new control plane instance was created:\n\n` +
        "* Certificate signing request was sent to apiserver and approval was received.\n* The Kubelet was informed of the new secure connection details.\n* Control plane label and taint were applied to the new node.\n* The Kubernetes control plane instances scaled up.\n\nTo start administering your cluster from this node, you need to run the following as a regular user:\n\n\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nRun 'kubectl get nodes' to see this node join the cluster.\n\n",
    );
  } else {
    io.out(
      '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"\n[kubelet-start] Starting the kubelet\n' +
        '[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap...\n\nThis node has joined the cluster:\n' +
        '* Certificate signing request was sent to apiserver and a response was received.\n* The Kubelet was informed of the new secure connection details.\n\n' +
        "Run 'kubectl get nodes' on the control-plane to see this node join the cluster.\n\n",
    );
  }
  return 0;
}

async function reset(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  const parsed = parseFlags(args, { bool: ['force', 'dry-run'], value: ['cri-socket', 'ignore-preflight-errors', 'cleanup-tmp-dir', 'kubeconfig', 'skip-phases', 'v', 'cert-dir'] });
  if (parsed.error) throw new KubeadmFailure(parsed.error);
  if (!isTrue(parsed.flags, 'force')) {
    const ok = await confirm(io, '[reset] Are you sure you want to proceed? [y/N]: ');
    if (!ok) throw new KubeadmFailure("error execution phase preflight: won't proceed; the user didn't answer (Y|y) in order to continue");
  }
  sh.mutation();
  const host = sh.host;
  const backend = sh.world.kubeadm;
  backend?.reset(host);
  const wasJoined = host.kubelet.joined;
  markReset(host);
  setActive(host, sh, 'kubelet', false);
  // Without a backend nobody else tells the world that the kubelet left.
  if (!backend && wasJoined) sh.world.emit('kubelet-changed', host);
  io.out(
    '[preflight] Running pre-flight checks\n[reset] Stopping the kubelet service\n[reset] Unmounting mounted directories in "/var/lib/kubelet"\n' +
      '[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet /etc/kubernetes/pki]\n' +
      '[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf /etc/kubernetes/controller-manager.conf /etc/kubernetes/scheduler.conf]\n\n' +
      'The reset process does not clean CNI configuration. To do so, you must remove /etc/cni/net.d\n',
  );
  return 0;
}

async function token(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  const [sub, ...rest] = args;
  const parsed = parseFlags(rest, { bool: ['print-join-command', 'help'], value: ['ttl', 'description', 'groups', 'usages', 'kubeconfig', 'config', 'output', 'v', 'certificate-key'] });
  if (parsed.error) throw new KubeadmFailure(parsed.error);
  const { flags, positional } = parsed;
  if (sub === 'generate') {
    io.out(`${randomToken(6)}.${randomToken(16)}\n`);
    return 0;
  }
  requireAdminConf(sh.host);
  const backend = backendOf(sh);
  switch (sub) {
    case 'create': {
      const ttlText = one(flags, 'ttl') ?? '24h0m0s';
      const ttl = parseGoDuration(ttlText);
      if (ttl === undefined) throw new KubeadmFailure(`invalid argument "${ttlText}" for "--ttl" flag: time: invalid duration "${ttlText}"`);
      sh.mutation();
      const created = backend.tokenCreate(ttl, one(flags, 'description'));
      // kubeadm ends the printed join command with a space.
      io.out(isTrue(flags, 'print-join-command') ? created.joinCommand.trimEnd() + ' \n' : created.token + '\n');
      return 0;
    }
    case 'delete': {
      if (positional.length === 0) throw new KubeadmFailure('missing argument; \'token delete\' is missing token of form "[a-z0-9]{6}" or "[a-z0-9]{6}\\.[a-z0-9]{16}"');
      sh.mutation();
      for (const t of positional) {
        const id = t.split('.')[0]!;
        if (!backend.tokenDelete(t)) throw new KubeadmFailure(`bootstrap token "${id}" not found`);
        io.out(`bootstrap token "${id}" deleted\n`);
      }
      return 0;
    }
    case 'list':
      io.out(backend.tokenList());
      return 0;
    default:
      throw new KubeadmFailure(`unknown command "${sub ?? ''}" for "kubeadm token"`);
  }
}

function randomToken(n: number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => chars[b % chars.length]).join('');
}

async function upgrade(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  const [sub, ...rest] = args;
  const parsed = parseFlags(rest, {
    bool: ['yes', 'force', 'dry-run', 'etcd-upgrade', 'certificate-renewal', 'allow-experimental-upgrades', 'allow-release-candidate-upgrades', 'print-config'],
    value: ['config', 'ignore-preflight-errors', 'kubeconfig', 'patches', 'skip-phases', 'v', 'feature-gates', 'output'],
  });
  if (parsed.error) throw new KubeadmFailure(parsed.error);
  const { flags, positional } = parsed;
  const host = sh.host;
  const backend = backendOf(sh);
  const ignorePreflightErrors = (flags.get('ignore-preflight-errors') ?? []).flatMap((v) => v.split(','));
  switch (sub) {
    case 'plan':
      requireAdminConf(host);
      io.out(backend.upgrade(host, 'plan', positional[0], { ignorePreflightErrors }));
      return 0;
    case 'apply': {
      requireAdminConf(host);
      const target = positional[0];
      if (!target) throw new KubeadmFailure('missing one or more required arguments. Required arguments: [version]');
      const binary = kubeadmVersion(host);
      if (semverCompare(target, binary) > 0) {
        throw new KubeadmFailure(
          `[upgrade/version] FATAL: the --version argument is invalid due to these errors:\n\n\t- Specified version to upgrade to "v${target.replace(/^v/, '')}" is higher than the kubeadm version "v${binary}". Upgrade kubeadm first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag`,
        );
      }
      if (!isTrue(flags, 'yes') && !isTrue(flags, 'force')) {
        const ok = await confirm(io, '[upgrade/confirm] Are you sure you want to proceed with the upgrade? [y/N]: ');
        if (!ok) throw new KubeadmFailure("won't proceed; the user didn't answer (Y|y) in order to continue");
      }
      sh.mutation();
      io.out(backend.upgrade(host, 'apply', target, { ignorePreflightErrors }));
      return 0;
    }
    case 'node':
      sh.mutation();
      io.out(backend.upgrade(host, 'node', undefined, { ignorePreflightErrors }));
      return 0;
    default:
      throw new KubeadmFailure(`unknown command "${sub ?? ''}" for "kubeadm upgrade"`);
  }
}

async function certs(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  const [sub, ...rest] = args;
  // pflag's short form glues the value on: -ojson.
  const parsed = parseFlags(rest.map((a) => a.replace(/^-o(?=[a-z])/, '-o=')), { bool: [], value: ['config', 'kubeconfig', 'cert-dir', 'v', 'output'] });
  if (parsed.error) throw new KubeadmFailure(parsed.error);
  const host = sh.host;
  if (sub === 'certificate-key') {
    io.out(randomBytes(32).toString('hex') + '\n');
    return 0;
  }
  if (sub !== 'check-expiration' && sub !== 'renew') throw new KubeadmFailure(`unknown command "${sub ?? ''}" for "kubeadm certs"`);
  const output = one(parsed.flags, 'output');
  if (output !== undefined) {
    // `check-expiration -o` came with kubeadm 1.30; older binaries do not know the flag.
    if (sub !== 'check-expiration' || semverCompare(kubeadmVersion(host), '1.30.0') < 0) {
      throw new KubeadmFailure(rest.some((a) => a.startsWith('--output')) ? 'unknown flag: --output' : "unknown shorthand flag: 'o' in -o");
    }
    if (!['json', 'yaml', 'text'].includes(output)) throw new KubeadmFailure(`unable to match a printer suitable for the output format "${output}", allowed formats are: json,text,yaml`);
  }
  requireAdminConf(host);
  const backend = backendOf(sh);
  if (sub === 'renew') {
    const what = parsed.positional[0];
    if (!what) throw new KubeadmFailure('missing subcommand; "renew" is not meant to be run on its own');
    sh.mutation();
    io.out(backend.certs(host, 'renew', what));
    return 0;
  }
  io.out(output === 'json' || output === 'yaml' ? backend.certs(host, 'check-expiration', undefined, { output }) : backend.certs(host, 'check-expiration'));
  return 0;
}

async function init(args: string[], io: CommandIO, sh: Shell): Promise<number> {
  if (args[0] !== 'phase' || args[1] !== 'upload-certs') {
    throw new KubeadmFailure('lab: kubeadm init is not supported (the lab cluster exists already); only "kubeadm init phase upload-certs --upload-certs"');
  }
  const parsed = parseFlags(args.slice(2), { bool: ['upload-certs', 'skip-certificate-key-print'], value: ['config', 'certificate-key', 'kubeconfig', 'v'] });
  if (parsed.error) throw new KubeadmFailure(parsed.error);
  requireAdminConf(sh.host);
  if (!isTrue(parsed.flags, 'upload-certs')) {
    io.out('[upload-certs] Skipping phase. Please see --upload-certs\n');
    return 0;
  }
  const backend = backendOf(sh);
  sh.mutation();
  const key = backend.uploadCerts();
  io.out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n');
  if (!isTrue(parsed.flags, 'skip-certificate-key-print')) io.out(`[upload-certs] Using certificate key:\n${key}\n`);
  return 0;
}

function version(args: string[], io: CommandIO, sh: Shell): number {
  const v = kubeadmVersion(sh.host);
  const parsed = parseFlags(args, { bool: [], value: ['output', 'v'] });
  const output = parsed.flags.get('output')?.at(-1);
  const [maj, min] = v.split('.');
  if (output === 'short') io.out(`v${v}\n`);
  else if (output === 'json') io.out(JSON.stringify({ clientVersion: { major: maj, minor: min, gitVersion: `v${v}`, platform: 'linux/amd64' } }, null, 2) + '\n');
  else io.out(`kubeadm version: &version.Info{Major:"${maj}", Minor:"${min}", GitVersion:"v${v}", GoVersion:"go1.21.9", Compiler:"gc", Platform:"linux/amd64"}\n`);
  return 0;
}

const kubeadm: CommandSpec = {
  package: 'kubeadm',
  async run(args, io, sh) {
    // Global flags (--v=5, --kubeconfig ...) may appear anywhere; sub-commands validate their own.
    const [sub, ...rest] = args.filter((a) => !/^--?v=\d+$/.test(a));
    try {
      switch (sub) {
        case 'join':
          return await join(rest, io, sh);
        case 'reset':
          return await reset(rest, io, sh);
        case 'token':
          return await token(rest, io, sh);
        case 'upgrade':
          return await upgrade(rest, io, sh);
        case 'certs':
          return await certs(rest, io, sh);
        case 'init':
          return await init(rest, io, sh);
        case 'version':
          return version(rest, io, sh);
        case undefined:
          io.out('Usage:\n  kubeadm [command]\n');
          return 0;
        default:
          throw new KubeadmFailure(`unknown command "${sub}" for "kubeadm"\nRun 'kubeadm --help' for usage.`);
      }
    } catch (err) {
      // Backend errors carry the text kubeadm would print; anything else is a lab bug, shown the same way.
      const message = (err as Error).message.trimEnd();
      io.err(message.includes('To see the stack trace') ? `${message}\n` : `${message}\n${STACK_HINT}`);
      return 1;
    }
  },
};

const kubelet: CommandSpec = {
  package: 'kubelet',
  run(args, io, sh) {
    if (args.includes('--version')) {
      io.out(`Kubernetes v${(sh.host.packages.get('kubelet') ?? '').replace(/-[^-]*$/, '')}\n`);
      return 0;
    }
    io.err('lab: kubelet runs as a service; use systemctl\n');
    return 1;
  },
};

const kubectl: CommandSpec = {
  package: 'kubectl',
  run(args, io, sh) {
    if (args[0] === 'version' && args.includes('--client')) {
      io.out(`Client Version: v${(sh.host.packages.get('kubectl') ?? '').replace(/-[^-]*$/, '')}\n`);
      return 0;
    }
    io.err('lab: kubectl on lab hosts only prints its version; use the Kubernetes API from the operator host\n');
    return 1;
  },
};

/** The Kubernetes command table. */
export const kubeCommands: Record<string, CommandSpec> = { kubeadm, kubelet, kubectl };
