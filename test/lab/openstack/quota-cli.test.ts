// The lab's compute quotas, absolute limits, server groups and images as the real openstack CLI reads them,
// after a test changed them through the admin endpoint (LabClient): what k8s.roll-nodes checks before a roll.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabClient } from '../../../lab/client.js';
import { type LabHandle, startLab } from '../../../lab/index.js';

/** Runs the real openstack CLI (asynchronously: the lab answers from this process) and parses its JSON. */
function openstackJson(dir: string, args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(
      'openstack',
      ['--os-cloud', 'local', ...args, '-f', 'json'],
      { timeout: 60000, env: { ...process.env, OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml'), HOME: dir } },
      (err, stdout, stderr) => (err ? reject(new Error(`openstack ${args.join(' ')}: ${stderr}`)) : resolve(JSON.parse(stdout))),
    );
  });
}

describe('lab OpenStack quotas, limits, server groups and images (real openstack CLI)', function () {
  this.timeout(120000);
  let lab: LabHandle;
  let dir: string;
  let admin: LabClient;

  before(async function () {
    try {
      execFileSync('openstack', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error('the openstack CLI is missing: run scripts/setup-packages.sh (apt-get install -y python3-openstackclient)');
    }
    dir = mkdtempSync(join(tmpdir(), 'lab-osquota-'));
    lab = await startLab({ stateDir: dir, speed: 50, control: 1, workers: 3, workersNfs: 0, ingress: 0, etcd: 0, seedWorkload: false });
    admin = new LabClient(lab.info);
  });

  after(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('limits show --absolute reports a quota set through the admin endpoint, with the use of the lab VMs', async () => {
    await admin.setQuotas({ instances: 5, cores: 30 });
    const rows = (await openstackJson(dir, ['limits', 'show', '--absolute'])) as { Name: string; Value: number }[];
    const limit = (name: string): number | undefined => rows.find((r) => r.Name === name)?.Value;
    assert.equal(limit('maxTotalInstances'), 5);
    assert.equal(limit('maxTotalCores'), 30);
    assert.equal(limit('totalInstancesUsed'), 4, 'one control node and three workers');
    // lab.small (2 cores) for control, lab.medium (4) for workers, as the lab inventory says.
    assert.equal(limit('totalCoresUsed'), 2 + 3 * 4);
  });

  it('quota list --compute --detail shows limit and in-use per resource', async () => {
    const rows = (await openstackJson(dir, ['quota', 'list', '--compute', '--detail'])) as { Resource: string; 'In Use': number; Limit: number }[];
    const instances = rows.find((r) => r.Resource === 'instances');
    assert.deepEqual({ used: instances?.['In Use'], limit: instances?.Limit }, { used: 4, limit: 5 });
  });

  it('server group list --long shows the role groups with their members', async () => {
    const groups = (await openstackJson(dir, ['server', 'group', 'list', '--long'])) as { Name: string; Policy: string; Members: string[] }[];
    const workers = groups.find((g) => g.Name === 'local-k8s-worker');
    assert.equal(workers?.Policy, 'soft-anti-affinity');
    assert.equal(workers?.Members.length, 3);
  });

  it('an image published through the admin endpoint is listed by image list', async () => {
    const created = await admin.addImage('debian-13-trixie');
    const again = await admin.addImage('debian-13-trixie');
    assert.equal(again.id, created.id, 'publishing the same name twice keeps one image');
    const images = (await openstackJson(dir, ['image', 'list'])) as { ID: string; Name: string }[];
    assert.deepEqual(
      images.filter((i) => i.Name === 'debian-13-trixie').map((i) => i.ID),
      [created.id],
    );
  });
});
