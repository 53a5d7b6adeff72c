import assert from 'node:assert/strict';
import { runCaptured } from '../../../lab/ssh/interpreter.js';
import { ShellSyntaxError, parse, tokenize } from '../../../lab/ssh/shell.js';
import type { LabHost, World } from '../../../lab/world.js';
import { RecordingKubeadm, addTestHost, testWorld } from './helpers.js';

describe('lab shell parser', () => {
  it('splits words with single, double, ANSI-C and backslash quoting', () => {
    const tokens = tokenize(`echo 'a b' "c d" e\\ f $'g\\nh' "x"y'z'`);
    const words = tokens.map((t) => (t.type === 'word' ? t.word.parts.map((p) => (p.kind === 'lit' ? p.text : `<${p.kind}>`)).join('') : t.op));
    assert.deepEqual(words, ['echo', 'a b', 'c d', 'e f', 'g\nh', 'xyz']);
  });

  it('recognises operators, fd redirections and comments', () => {
    const ops = tokenize('a && b || c; d | e 2>&1 >/dev/null # comment').filter((t) => t.type === 'op').map((t) => (t as { op: string }).op);
    assert.deepEqual(ops, ['&&', '||', ';', '|', '2>&', '>']);
  });

  it('reports unterminated quotes and unsupported syntax as syntax errors', () => {
    assert.throws(() => parse("echo 'abc"), ShellSyntaxError);
    assert.throws(() => parse('echo "abc'), ShellSyntaxError);
    assert.throws(() => parse('sleep 1 &'), /background/);
    assert.throws(() => parse('cat <<EOF'), /here-documents/);
    assert.throws(() => parse('&& true'), ShellSyntaxError);
  });

  it('parses if/elif/else/fi', () => {
    const list = parse('if test -e /x; then echo a; elif true; then echo b; else echo c; fi');
    const cmd = list.items[0]!.first.commands[0]!;
    assert.equal(cmd.type, 'if');
    assert.equal(cmd.type === 'if' && cmd.branches.length, 2);
  });
});

describe('lab shell interpreter', () => {
  let world: World;
  let worker: LabHost;
  let control: LabHost;
  let fresh: LabHost;
  let backend: RecordingKubeadm;
  const run = (host: LabHost, script: string, stdin?: string) => runCaptured(host, world, script, stdin);

  beforeEach(() => {
    world = testWorld();
    backend = new RecordingKubeadm();
    world.kubeadm = backend;
    worker = addTestHost(world, 'local-k8s-worker-1', 'worker');
    control = addTestHost(world, 'local-k8s-control-1', 'control');
    fresh = addTestHost(world, 'local-k8s-worker-9', 'worker', { provisioned: false });
  });
  afterEach(() => world.shutdown());

  describe('quoting, expansion and operators', () => {
    it('keeps quoted spaces and expands variables and command substitutions', async () => {
      const r = await run(worker, `X='1 2'; echo "a  b" $X "$X" '$X' "$(hostname)" \${HOME}`);
      assert.equal(r.stdout, 'a  b 1 2 1 2 $X local-k8s-worker-1 /root\n');
    });

    it('evaluates && || ; and $?', async () => {
      assert.equal((await run(worker, 'false && echo no || echo yes')).stdout, 'yes\n');
      assert.equal((await run(worker, 'true; false; echo $?')).stdout, '1\n');
      assert.equal((await run(worker, 'true && echo one; echo two')).stdout, 'one\ntwo\n');
      assert.equal((await run(worker, 'false')).code, 1);
      assert.equal((await run(worker, '! false')).code, 0);
    });

    it('runs sudo, env prefixes, env, timeout and bash -c', async () => {
      assert.equal((await run(worker, 'sudo -n -u root hostname')).stdout, 'local-k8s-worker-1\n');
      assert.equal((await run(worker, 'sudo -n -- uname -r')).stdout, '6.1.0-25-amd64\n');
      assert.equal((await run(worker, 'FOO=bar env | grep ^FOO=')).stdout, 'FOO=bar\n');
      assert.equal((await run(worker, 'timeout 10s hostname -s')).stdout, 'local-k8s-worker-1\n');
      assert.equal((await run(worker, `bash -c 'echo "in $HOSTNAME"; exit 3'`)).code, 3);
      assert.equal((await run(worker, `sudo bash -c 'echo "in $HOSTNAME"'`)).stdout, 'in local-k8s-worker-1\n');
    });

    it('pipes stdout into the next command and session stdin into the first reader', async () => {
      assert.equal((await run(worker, 'echo hello | cat')).stdout, 'hello\n');
      assert.equal((await run(worker, 'printf "a\\nb\\n" | grep -c .')).stdout, '2\n');
      assert.equal((await run(worker, 'cat; cat', 'from-stdin\n')).stdout, 'from-stdin\n');
    });

    it('redirects output into files, appends, and discards', async () => {
      const r = await run(worker, 'echo one > /tmp/f && echo two >> /tmp/f && cat /tmp/f && ls /nope 2>/dev/null; echo err >&2');
      assert.equal(r.stdout, 'one\ntwo\n');
      assert.equal(r.stderr, 'err\n');
      const both = await run(worker, 'ls /nope > /tmp/out 2>&1; cat /tmp/out');
      assert.match(both.stdout, /cannot access '\/nope'/);
      assert.equal((await run(worker, 'cat < /tmp/f')).stdout, 'one\ntwo\n');
      assert.match((await run(worker, 'echo x > /no/such/dir/f')).stderr, /No such file or directory/);
    });

    it('honours set -e, exit and if/else', async () => {
      const r = await run(worker, 'set -e; false || true; echo still; false; echo never');
      assert.equal(r.stdout, 'still\n');
      assert.equal(r.code, 1);
      assert.equal((await run(worker, 'set -e; false && true; echo ok')).stdout, 'ok\n');
      assert.equal((await run(worker, 'exit 7; echo no')).code, 7);
      const cond = await run(worker, 'if [ -f /var/run/reboot-required ]; then echo yes; else echo no; fi');
      assert.equal(cond.stdout, 'no\n');
    });

    it('exits 127 for unknown commands and 2 for syntax errors', async () => {
      const r = await run(worker, 'frobnicate --now');
      assert.equal(r.code, 127);
      assert.equal(r.stderr, 'bash: frobnicate: command not found\n');
      const p = await run(worker, '/opt/bin/tool');
      assert.equal(p.code, 127);
      assert.equal((await run(worker, '/usr/bin/hostname')).stdout, 'local-k8s-worker-1\n');
      const s = await run(worker, "echo 'oops");
      assert.equal(s.code, 2);
      assert.match(s.stderr, /unexpected EOF/);
      assert.equal((await run(worker, 'sudo frobnicate')).code, 1);
    });
  });

  describe('system commands', () => {
    it('reports identity, kernel, boot id and uptime', async () => {
      assert.equal((await run(worker, 'hostname')).stdout, 'local-k8s-worker-1\n');
      assert.equal((await run(worker, 'hostname -f')).stdout, 'local-k8s-worker-1.lab.internal\n');
      assert.equal((await run(worker, 'uname -r')).stdout, '6.1.0-25-amd64\n');
      assert.match((await run(worker, 'uname -a')).stdout, /^Linux local-k8s-worker-1 6\.1\.0-25-amd64 .* x86_64 GNU\/Linux\n$/);
      assert.equal((await run(worker, 'uname')).stdout, 'Linux\n');
      assert.equal((await run(worker, 'cat /proc/sys/kernel/random/boot_id')).stdout, worker.bootId + '\n');
      assert.match((await run(worker, 'cat /proc/uptime')).stdout, /^\d+\.\d{2} \d+\.\d{2}\n$/);
      assert.equal((await run(worker, 'id -u && whoami')).stdout, '0\nroot\n');
    });

    it('handles files: test, touch, rm -f, ls /boot, mkdir, chmod, tee', async () => {
      assert.equal((await run(worker, 'test -e /var/run/reboot-required')).code, 1);
      assert.equal((await run(worker, 'touch /var/run/reboot-required && test -f /run/reboot-required')).code, 0);
      assert.equal(worker.files.has('/var/run/reboot-required'), true);
      assert.equal((await run(worker, 'rm -f /var/run/reboot-required /var/run/nothing')).code, 0);
      assert.equal(worker.files.has('/var/run/reboot-required'), false);
      assert.equal((await run(worker, 'rm /var/run/nothing')).code, 1);
      assert.equal((await run(worker, 'ls /boot')).stdout, 'System.map-6.1.0-25-amd64\nconfig-6.1.0-25-amd64\ninitrd.img-6.1.0-25-amd64\nvmlinuz-6.1.0-25-amd64\n');
      assert.equal((await run(worker, 'test -e /boot/vmlinuz-6.1.0-25-amd64')).code, 0);
      assert.equal((await run(worker, 'test -d /etc && test ! -d /etc/hostname')).code, 0);
      await run(worker, 'mkdir -p /opt/a/b && echo secret | tee /opt/a/b/key >/dev/null && chmod 600 /opt/a/b/key');
      assert.equal(worker.files.get('/opt/a/b/key'), 'secret\n');
      assert.equal(worker.fileModes?.get('/opt/a/b/key'), 0o600);
      await run(worker, 'umask 077; echo key > /root/join.yaml; touch /root/t; umask');
      assert.equal(worker.fileModes?.get('/root/join.yaml'), 0o600);
      assert.equal(worker.fileModes?.get('/root/t'), 0o600);
      await run(worker, 'echo plain > /root/plain');
      assert.equal(worker.fileModes?.get('/root/plain'), 0o644);
      assert.equal((await run(worker, 'cat /etc')).code, 1);
      assert.equal((await run(worker, 'cat /nope')).stderr, 'cat: /nope: No such file or directory\n');
    });

    it('runs systemctl for the known units', async () => {
      assert.equal((await run(worker, 'systemctl is-active kubelet')).stdout, 'active\n');
      const stop = await run(worker, 'systemctl stop kubelet && systemctl is-active kubelet');
      assert.equal(stop.stdout, 'inactive\n');
      assert.equal(stop.code, 3);
      assert.equal((await run(worker, 'systemctl start kubelet.service; systemctl is-active --quiet kubelet')).code, 0);
      assert.match((await run(worker, 'systemctl status containerd')).stdout, /containerd\.service - .*\n\s+Loaded: loaded .*enabled.*\n\s+Active: active \(running\)/);
      assert.equal((await run(worker, 'systemctl status kubelet etcd')).code, 4);
      const missing = await run(fresh, 'systemctl start kubelet');
      assert.equal(missing.code, 5);
      assert.equal(missing.stderr, 'Failed to start kubelet.service: Unit kubelet.service not found.\n');
      assert.equal((await run(worker, 'systemctl frob kubelet')).code, 1);
      const etcd = addTestHost(world, 'local-k8s-etcd-1', 'etcd');
      assert.equal((await run(etcd, 'systemctl is-active etcd && systemctl is-enabled etcd')).stdout, 'active\nenabled\n');
      await run(etcd, 'systemctl disable --now etcd');
      assert.equal(etcd.services.get('etcd'), false);
      assert.equal(etcd.enabledServices?.has('etcd'), false);
    });

    it('notifies the world when kubelet restarts with a new version', async () => {
      const seen: string[] = [];
      world.on('kubelet-changed', (h) => seen.push(`${h.name} ${h.kubelet.version}`));
      await run(worker, 'apt-get install -y --allow-change-held-packages kubelet=1.30.2-1.1 && systemctl restart kubelet');
      assert.equal(worker.kubelet.version, '1.30.2');
      assert.deepEqual(seen, ['local-k8s-worker-1 1.30.2']);
    });

    it('requests a reboot for reboot, systemctl reboot and shutdown -r now, not for poweroff', async () => {
      for (const cmd of ['reboot', 'sudo systemctl reboot', 'shutdown -r now']) {
        const r = await run(worker, cmd);
        assert.equal(r.code, 0, cmd);
        assert.equal(r.reboot, true, cmd);
      }
      const off = await run(worker, 'shutdown -h now');
      assert.equal(off.reboot, false);
      assert.equal(off.code, 1);
      assert.equal((await run(worker, 'shutdown -r +5')).reboot, false);
    });
  });

  describe('packages', () => {
    it('installs pinned versions with their services and answers dpkg-query', async () => {
      assert.equal((await run(fresh, 'kubeadm version')).code, 127);
      const r = await run(fresh, 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends containerd kubeadm=1.29.4-1.1 kubelet=1.29.4-1.1');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Setting up kubeadm \(1\.29\.4-1\.1\)/);
      assert.equal(fresh.packages.get('kubelet'), '1.29.4-1.1');
      assert.equal(fresh.services.get('containerd'), true);
      assert.equal((await run(fresh, "dpkg-query -W -f='${Version}' kubeadm")).stdout, '1.29.4-1.1');
      assert.equal((await run(fresh, 'dpkg-query -W kubectl')).code, 1);
      assert.equal((await run(fresh, 'kubeadm version -o short')).stdout, 'v1.29.4\n');
      assert.equal((await run(fresh, 'systemctl is-active kubelet')).stdout, 'activating\n');
      const again = await run(fresh, 'apt-get install -y kubeadm=1.29.4-1.1');
      assert.match(again.stdout, /kubeadm is already the newest version \(1\.29\.4-1\.1\)/);
    });

    it('fails like apt on unknown packages, missing versions, holds, downgrades and missing -y', async () => {
      const unknown = await run(fresh, 'apt-get install -y frobnicator');
      assert.equal(unknown.code, 100);
      assert.match(unknown.stderr, /E: Unable to locate package frobnicator/);
      const version = await run(fresh, 'apt-get install -y kubeadm=1.99.0-1.1');
      assert.equal(version.code, 100);
      assert.match(version.stderr, /E: Version '1\.99\.0-1\.1' for 'kubeadm' was not found/);
      const held = await run(worker, 'apt-get install -y kubeadm=1.30.1-1.1');
      assert.match(held.stderr, /Held packages were changed/);
      assert.equal(worker.packages.get('kubeadm'), '1.29.4-1.1');
      await run(worker, 'apt-mark unhold kubeadm');
      assert.match((await run(worker, 'apt-get install -y kubeadm=1.28.9-1.1')).stderr, /downgraded/);
      assert.equal((await run(worker, 'apt-get install kubeadm=1.30.1-1.1')).code, 1);
      assert.equal((await run(worker, 'apt-get install -y kubeadm=1.30.1-1.1 && apt-mark hold kubeadm')).code, 0);
      assert.equal((await run(worker, 'apt-mark showhold')).stdout, 'kubeadm\nkubectl\nkubelet\n');
    });

    it('installs a new kernel image and marks the host as needing a reboot', async () => {
      const r = await run(worker, 'apt-get update && apt-get install -y linux-image-6.1.0-28-amd64');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(worker.kernel.installed, ['6.1.0-25-amd64', '6.1.0-28-amd64']);
      assert.equal((await run(worker, 'test -f /var/run/reboot-required && cat /var/run/reboot-required.pkgs')).stdout, 'linux-image-6.1.0-28-amd64\n');
      assert.match((await run(worker, 'ls /boot')).stdout, /vmlinuz-6\.1\.0-28-amd64/);
      assert.equal((await run(worker, 'uname -r')).stdout, '6.1.0-25-amd64\n');
    });

    it('full-upgrade brings the newest kernel', async () => {
      assert.equal((await run(worker, 'apt-get -y full-upgrade')).code, 0);
      assert.ok(worker.kernel.installed.includes('6.1.0-28-amd64'));
      assert.ok(worker.files.has('/var/run/reboot-required'));
    });
  });

  describe('kubeadm', () => {
    it('creates, lists and deletes tokens on control-plane nodes only', async () => {
      const r = await run(control, 'kubeadm token create --print-join-command --ttl 2h');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^kubeadm join 127\.0\.0\.1:6443 --token tok001\.0123456789abcdef --discovery-token-ca-cert-hash sha256:a{64} \n$/);
      assert.deepEqual(backend.calls, ['tokenCreate 7200']);
      assert.match((await run(control, 'kubeadm token list')).stdout, /tok001/);
      assert.equal((await run(control, 'kubeadm token delete tok001')).stdout, 'bootstrap token "tok001" deleted\n');
      assert.equal((await run(control, 'kubeadm token delete zzzzzz')).code, 1);
      const w = await run(worker, 'kubeadm token create');
      assert.equal(w.code, 1);
      assert.match(w.stderr, /admin\.conf: no such file or directory/);
      assert.match((await run(control, 'kubeadm token create --ttl forever')).stderr, /invalid duration/);
    });

    it('joins a provisioned host with token and CA hash', async () => {
      await run(fresh, 'apt-get install -y containerd kubeadm=1.29.4-1.1 kubelet=1.29.4-1.1');
      const events: string[] = [];
      world.on('kubelet-changed', (h) => events.push(`${h.name} joined=${h.kubelet.joined}`));
      const r = await run(fresh, `kubeadm join 127.0.0.1:6443 --token ${backend.token} --discovery-token-ca-cert-hash ${backend.hash}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /This node has joined the cluster/);
      assert.equal(fresh.kubelet.joined, true);
      assert.equal(fresh.kubelet.controlPlane, false);
      assert.equal(fresh.kubelet.version, '1.29.4');
      assert.ok(events.includes('local-k8s-worker-9 joined=true'));
      assert.equal((await run(fresh, 'systemctl is-active kubelet && test -f /etc/kubernetes/kubelet.conf')).code, 0);
      const again = await run(fresh, `kubeadm join 127.0.0.1:6443 --token ${backend.token} --discovery-token-ca-cert-hash ${backend.hash}`);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /\[ERROR FileAvailable--etc-kubernetes-kubelet.conf\]/);
      assert.match(again.stderr, /To see the stack trace/);
    });

    it('fails preflight without a running container runtime, and on bad tokens', async () => {
      await run(fresh, 'apt-get install -y kubeadm=1.29.4-1.1 kubelet=1.29.4-1.1');
      const noCri = await run(fresh, `kubeadm join 127.0.0.1:6443 --token ${backend.token} --discovery-token-ca-cert-hash ${backend.hash}`);
      assert.equal(noCri.code, 1);
      assert.match(noCri.stderr, /\[ERROR CRI\]: container runtime is not running/);
      await run(fresh, 'apt-get install -y containerd');
      const bad = await run(fresh, `kubeadm join 127.0.0.1:6443 --token zzzzzz.0123456789abcdef --discovery-token-ca-cert-hash ${backend.hash}`);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /JWS signature/);
      assert.equal(fresh.kubelet.joined, false);
      const noHash = await run(fresh, `kubeadm join 127.0.0.1:6443 --token ${backend.token}`);
      assert.match(noHash.stderr, /without caCertHashes can be unsafe/);
    });

    it('joins a control plane with a certificate key from flags, a --config file or stdin', async () => {
      const cfg = (key: string) =>
        `apiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n    apiServerEndpoint: 127.0.0.1:6443\n    token: ${backend.token}\n    caCertHashes: ["${backend.hash}"]\ncontrolPlane:\n  certificateKey: ${key}\nnodeRegistration:\n  name: x\n`;
      const hosts = ['local-k8s-control-7', 'local-k8s-control-8', 'local-k8s-control-9'].map((n) => addTestHost(world, n, 'control', { provisioned: false }));
      for (const h of hosts) await run(h, 'apt-get install -y containerd kubeadm=1.29.4-1.1 kubelet=1.29.4-1.1');
      const [a, b, c] = hosts as [LabHost, LabHost, LabHost];
      const flags = await run(a, `kubeadm join 127.0.0.1:6443 --token ${backend.token} --discovery-token-ca-cert-hash ${backend.hash} --control-plane --certificate-key ${backend.certKey}`);
      assert.equal(flags.code, 0, flags.stderr);
      assert.equal(a.kubelet.controlPlane, true);
      assert.ok(a.files.has('/etc/kubernetes/admin.conf'));
      b.files.set('/root/join.yaml', cfg(backend.certKey));
      const file = await run(b, 'kubeadm join --config /root/join.yaml');
      assert.equal(file.code, 0, file.stderr);
      assert.equal(b.kubelet.controlPlane, true);
      const mixed = await run(c, `kubeadm join 127.0.0.1:6443 --control-plane --config /root/join.yaml`);
      assert.equal(mixed.code, 1);
      assert.match(mixed.stderr, /can not mix '--config' with arguments \[control-plane\]/);
      const wrongKey = await run(c, 'kubeadm join --config /dev/stdin', cfg('c'.repeat(64)));
      assert.equal(wrongKey.code, 1);
      assert.match(wrongKey.stderr, /error downloading certs/);
      const stdin = await run(c, 'kubeadm join --config /dev/stdin', cfg(backend.certKey));
      assert.equal(stdin.code, 0, stdin.stderr);
      assert.ok(backend.calls.filter((x) => x.includes('cp=true')).length >= 3);
    });

    it('uploads certificates, resets, upgrades and handles certs', async () => {
      const up = await run(control, 'kubeadm init phase upload-certs --upload-certs');
      assert.equal(up.stdout, `[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n[upload-certs] Using certificate key:\n${backend.certKey}\n`);
      const noForce = await run(worker, 'kubeadm reset', '');
      assert.equal(noForce.code, 1);
      assert.equal(worker.kubelet.joined, true);
      const reset = await run(worker, 'kubeadm reset -f');
      assert.equal(reset.code, 0);
      assert.equal(worker.kubelet.joined, false);
      assert.equal(worker.files.has('/etc/kubernetes/kubelet.conf'), false);
      assert.equal((await run(worker, 'systemctl is-active kubelet')).stdout, 'inactive\n');
      assert.equal((await run(control, 'kubeadm upgrade plan')).code, 0);
      const tooNew = await run(control, 'kubeadm upgrade apply v1.30.1 -y');
      assert.equal(tooNew.code, 1);
      assert.match(tooNew.stderr, /is higher than the kubeadm version "v1\.29\.4"/);
      await run(control, 'apt-get install -y --allow-change-held-packages kubeadm=1.30.1-1.1');
      assert.equal((await run(control, 'kubeadm upgrade apply v1.30.1 --yes')).code, 0);
      assert.equal((await run(worker, 'kubeadm upgrade node')).code, 0);
      assert.match((await run(control, 'kubeadm certs check-expiration')).stdout, /admin\.conf/);
      assert.equal((await run(control, 'kubeadm certs renew all')).code, 0);
      assert.ok(backend.calls.includes('upgrade apply local-k8s-control-1 v1.30.1'));
      assert.ok(backend.calls.includes('certs renew all'));
    });

    it('fails joins when the Kubernetes side is not there or a fault says so', async () => {
      world.faults.joinFailures = ['local-k8s-worker-9'];
      await run(fresh, 'apt-get install -y containerd kubeadm=1.29.4-1.1 kubelet=1.29.4-1.1');
      const fault = await run(fresh, `kubeadm join 127.0.0.1:6443 --token ${backend.token} --discovery-token-ca-cert-hash ${backend.hash}`);
      assert.equal(fault.code, 1);
      assert.match(fault.stderr, /kubelet-start/);
      world.faults = {};
      world.kubeadm = undefined;
      const none = await run(fresh, `kubeadm join 127.0.0.1:6443 --token ${backend.token} --discovery-token-ca-cert-hash ${backend.hash}`);
      assert.match(none.stderr, /connection refused/);
    });
  });

  describe('counters', () => {
    it('counts state-changing commands only', async () => {
      const before = world.counters.ssh_mutations;
      await run(worker, 'hostname; cat /proc/uptime; test -e /x; systemctl is-active kubelet; dpkg-query -W kubeadm; ls /boot');
      assert.equal(world.counters.ssh_mutations, before);
      const r = await run(worker, 'touch /var/run/reboot-required; systemctl restart kubelet; apt-get install -y jq');
      assert.equal(r.mutations, 3);
      assert.equal(world.counters.ssh_mutations, before + 3);
    });
  });
});
