// The lab's real etcd with TLS: members serving https with client-certificate authentication, configured by
// their /etc/default/etcd (ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_TRUSTED_CA_FILE, ETCD_CLIENT_CERT_AUTH), files on
// the hosts. etcd.status works with the inventory's etcd.tls (paths on the hosts, passed as etcdctl flags) and
// fails without it; the key's content never shows in the run's output or journal.
import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { $ } from 'zx';
import { APISERVER_MANIFEST, ETCD_DEFAULTS, parseEnvFile, renderApiserverManifest, renderEnvFile } from '../../../lab/etcd/config.js';
import * as fs from '../../../lab/ssh/fs.js';
import { cleanupTempDirs, runCli, tempDir } from '../../helpers/cli.js';
import { type TestLab, startTestLab } from '../../helpers/lab.js';

const PKI = '/etc/etcd/pki';

describe('lab: real etcd with TLS, etcd.status with etcd.tls', function () {
  this.timeout(120_000);
  let lab: TestLab;
  let key = '';
  const hosts = () => [...lab.world.hosts.values()].filter((h) => h.role === 'etcd');
  before(async () => {
    lab = await startTestLab({ clusterName: 'etls', control: 1, workers: 0, workersNfs: 0, ingress: 0, etcd: 3, speed: 60, seedWorkload: false });
    // One CA and one certificate for every member's address (server and client use), as a small cluster's PKI.
    const pki = tempDir('cc-etcd-pki-');
    const sans = hosts().map((h) => `IP:${h.address}`).join(',');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await $({ quiet: true, cwd: pki })`openssl req -x509 ${ec} -keyout ca.key -out ca.crt -subj /CN=lab-etcd-ca -days 2`;
    await $({ quiet: true, cwd: pki })`openssl req ${ec} -keyout member.key -out member.csr -subj /CN=etcd`;
    writeFileSync(join(pki, 'ext.cnf'), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    await $({ quiet: true, cwd: pki })`openssl x509 -req -in member.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out member.crt -days 2 -extfile ext.cnf`;
    key = readFileSync(join(pki, 'member.key'), 'utf8');
    const endpoints: string[] = [];
    for (const h of hosts()) {
      for (const f of ['ca.crt', 'member.crt', 'member.key']) fs.writeFile(h, `${PKI}/${f}`, readFileSync(join(pki, f), 'utf8'), { mode: 0o600 });
      const cfg = Object.fromEntries(parseEnvFile(fs.readFile(h, ETCD_DEFAULTS) ?? ''));
      const client = cfg.ETCD_ADVERTISE_CLIENT_URLS!.replace('http://', 'https://');
      endpoints.push(client);
      fs.writeFile(h, ETCD_DEFAULTS, renderEnvFile({ ...cfg, ETCD_LISTEN_CLIENT_URLS: client, ETCD_ADVERTISE_CLIENT_URLS: client, ETCD_CERT_FILE: `${PKI}/member.crt`, ETCD_KEY_FILE: `${PKI}/member.key`, ETCD_TRUSTED_CA_FILE: `${PKI}/ca.crt`, ETCD_CLIENT_CERT_AUTH: 'true' }));
    }
    for (const h of lab.world.hosts.values()) if (h.kubelet.controlPlane) fs.writeFile(h, APISERVER_MANIFEST, renderApiserverManifest(h.name, h.address, endpoints), { mode: 0o600 });
    await lab.etcd!.start();
  });
  after(async () => {
    await lab?.stop();
    cleanupTempDirs();
  });

  /** The lab's inventory with etcd.endpoints (https) and, when asked, etcd.tls. */
  function inventory(withTls: boolean): string {
    const doc = parse(readFileSync(join(lab.stateDir, 'inventory.yaml'), 'utf8')) as Record<string, any>;
    doc.etcd = { endpoints: hosts().map((h) => `https://${h.address}:${lab.etcd!.options.clientPort}`), ...(withTls ? { tls: { cacert: `${PKI}/ca.crt`, cert: `${PKI}/member.crt`, key: `${PKI}/member.key` } } : {}) };
    const dir = tempDir('cc-inv-');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'inventory.yaml'), stringify(doc));
    return dir;
  }

  it('serves https only to clients with a certificate of its CA (the lab probes it as the apiserver would)', async () => {
    assert.deepEqual(await lab.etcd!.health(), { ok: true });
    const h = hosts()[0]!;
    const endpoint = `--endpoints=https://${h.address}:${lab.etcd!.options.clientPort}`;
    const plain = await lab.world.etcd!.etcdctl(h, [endpoint, '--dial-timeout=1s', '--command-timeout=2s', 'endpoint', 'health'], new Map());
    assert.notEqual(plain.code, 0, 'no client certificate: refused');
    const ok = await lab.world.etcd!.etcdctl(h, [endpoint, `--cacert=${PKI}/ca.crt`, `--cert=${PKI}/member.crt`, `--key=${PKI}/member.key`, 'endpoint', 'health'], new Map());
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout + ok.stderr, /is healthy/);
  });

  it('etcd.status reads the members through etcdctl with the inventory TLS paths; without them it fails', async () => {
    const state = tempDir('cc-state-');
    const args = (inv: string) => ['etcd.status', '--cluster-name', 'etls', '--inventory', inv, '--state-dir', state, '--json'];
    const r = await runCli(args(inventory(true)));
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout) as { result: { healthyVoters: number; members: { clientUrl: string }[] } };
    assert.equal(out.result.healthyVoters, 3);
    assert.equal(out.result.members.filter((m) => m.clientUrl.startsWith('https://')).length, 3, 'members advertise https client URLs');
    const body = key.split('\n').filter((l) => l && !l.startsWith('-----'))[0]!;
    const journals = join(state, 'journals', 'etcd.status');
    const written = readdirSync(journals).map((f) => readFileSync(join(journals, f), 'utf8')).join('\n');
    for (const text of [r.stdout, r.stderr, written]) assert.ok(!text.includes(body), 'the key content is nowhere');
    assert.match(written, /"cookbook": ?"etcd\.status"/, 'the journal was read');
    const without = await runCli(args(inventory(false)));
    assert.notEqual(without.code, 0, 'no TLS flags: no member answers');
  });
});
