// --only-if-needed: whether a host needs a reboot, from its sentinel, running kernel and installed kernels.
import { strict as assert } from 'node:assert';
import { compareKernels, installedKernels, rebootReason } from '../../../lib/ops/reboot/needed.js';

describe('reboot needed: rebootReason', () => {
  const rows: [string, { sentinel: boolean; running: string; installed: string[] }, string | undefined][] = [
    ['the sentinel', { sentinel: true, running: '6.1.0-28-amd64', installed: ['6.1.0-28-amd64'] }, '/var/run/reboot-required exists'],
    ['a newer kernel installed', { sentinel: false, running: '6.1.0-25-amd64', installed: ['6.1.0-25-amd64', '6.1.0-28-amd64'] }, 'running kernel 6.1.0-25-amd64, newest installed 6.1.0-28-amd64'],
    ['10 sorts after 9 (natural order)', { sentinel: false, running: '6.1.0-9-amd64', installed: ['6.1.0-10-amd64', '6.1.0-9-amd64'] }, 'running kernel 6.1.0-9-amd64, newest installed 6.1.0-10-amd64'],
    ['running the newest', { sentinel: false, running: '6.1.0-28-amd64', installed: ['6.1.0-25-amd64', '6.1.0-28-amd64'] }, undefined],
    ['running a newer one than installed', { sentinel: false, running: '6.10.0-1-amd64', installed: ['6.1.0-28-amd64'] }, undefined],
    ['nothing installed', { sentinel: false, running: '6.1.0-28-amd64', installed: [] }, undefined],
  ];
  for (const [title, facts, want] of rows) it(`${title} → ${want ?? 'no reboot'}`, () => assert.equal(rebootReason(facts), want));
});

describe('reboot needed: installedKernels and compareKernels', () => {
  it('reads kernel versions from a /boot listing, sorted', () =>
    assert.deepEqual(installedKernels('config-6.1.0-28-amd64\nvmlinuz-6.1.0-28-amd64  vmlinuz-6.1.0-9-amd64\ninitrd.img-6.1.0-28-amd64\ngrub\n'), ['6.1.0-9-amd64', '6.1.0-28-amd64']));
  const rows: [string, string, number][] = [
    ['6.1.0-25-amd64', '6.1.0-28-amd64', -1],
    ['6.10.0-1-amd64', '6.1.0-28-amd64', 1],
    ['6.1.0-28-amd64', '6.1.0-28-amd64', 0],
  ];
  for (const [a, b, sign] of rows) it(`${a} vs ${b} → ${sign}`, () => assert.equal(Math.sign(compareKernels(a, b)), sign));
});
