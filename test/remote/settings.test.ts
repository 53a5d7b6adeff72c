// How a Remote is configured: defaults, known_hosts files, the agent socket and the identity file, one table
// per function. Identity files are real files in a temp directory, parsed by ssh2.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { InputError } from '../../lib/core/errors.js';
import { REMOTE_DEFAULTS, agentSocketOf, combineSignals, knownHostsFilesOf, loadIdentity, resolveRemoteOptions } from '../../lib/remote/settings.js';
import type { RemoteOptions } from '../../lib/remote/types.js';

describe('remote/settings: resolveRemoteOptions', () => {
  const rows: [string, RemoteOptions | undefined, Partial<typeof REMOTE_DEFAULTS>][] = [
    ['nothing given: the defaults', undefined, {}],
    ['one tunable given, the rest default', { commandTimeoutMs: 5000 }, { commandTimeoutMs: 5000 }],
    ['a reboot command', { rebootCommand: ['systemctl', 'reboot'] }, { rebootCommand: ['systemctl', 'reboot'] }],
    ['0 is a value, not unset', { keepaliveCountMax: 0 }, { keepaliveCountMax: 0 }],
    ['agent and known_hosts are not tunables here', { agentSocket: '/s', knownHostsFiles: ['/k'] }, {}],
  ];
  for (const [title, given, changed] of rows) it(title, () => assert.deepEqual(resolveRemoteOptions(given), { ...REMOTE_DEFAULTS, ...changed }));
  it('the defaults: 15 s connect, 5 min commands, 8 channels per host, /tmp for secret files', () => {
    assert.deepEqual(REMOTE_DEFAULTS, { connectTimeoutMs: 15_000, commandTimeoutMs: 300_000, keepaliveIntervalMs: 15_000, keepaliveCountMax: 3, maxChannelsPerHost: 8, rebootCommand: ['reboot'], secretDir: '/tmp' });
  });
});

describe('remote/settings: knownHostsFilesOf', () => {
  const rows: [string, string | undefined, RemoteOptions, string[]][] = [
    ['the options win', 'kh', { knownHostsFiles: ['/a', '/b'] }, ['/a', '/b']],
    ['the inventory setting, relative to the inventory file', 'state/known_hosts', {}, ['/inv/state/known_hosts']],
    ['an absolute inventory setting', '/etc/kh', {}, ['/etc/kh']],
    ['neither: OpenSSH\'s user and system files', undefined, {}, ['/home/op/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts']],
  ];
  for (const [title, setting, options, want] of rows) it(title, () => assert.deepEqual(knownHostsFilesOf(setting, options, '/inv', '/home/op'), want));
});

describe('remote/settings: agentSocketOf', () => {
  const rows: [string, RemoteOptions, NodeJS.ProcessEnv, string | undefined][] = [
    ['SSH_AUTH_SOCK', {}, { SSH_AUTH_SOCK: '/run/agent' }, '/run/agent'],
    ['the options win', { agentSocket: '/mine' }, { SSH_AUTH_SOCK: '/run/agent' }, '/mine'],
    ['null disables the agent', { agentSocket: null }, { SSH_AUTH_SOCK: '/run/agent' }, undefined],
    ['an empty SSH_AUTH_SOCK is unset', {}, { SSH_AUTH_SOCK: '' }, undefined],
    ['none', {}, {}, undefined],
  ];
  for (const [title, options, env, want] of rows) it(`${title} → ${want}`, () => assert.equal(agentSocketOf(options, env), want));
});

describe('remote/settings: combineSignals', () => {
  it('none → undefined; one → itself; several → aborts with the first that aborts', () => {
    assert.equal(combineSignals(undefined, undefined), undefined);
    const a = new AbortController();
    const b = new AbortController();
    assert.equal(combineSignals(undefined, a.signal), a.signal);
    const both = combineSignals(a.signal, b.signal)!;
    assert.equal(both.aborted, false);
    b.abort(new Error('b'));
    assert.equal(both.aborted, true);
    assert.equal((both.reason as Error).message, 'b');
  });
});

describe('remote/settings: loadIdentity', () => {
  let dir: string;
  const key = ssh2.utils.generateKeyPairSync('ed25519');
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'remote-settings-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rows: [string, () => string, boolean, RegExp | 'key' | 'none'][] = [
    ['a private key', () => file('id', key.private), false, 'key'],
    ['a missing file', () => join(dir, 'nope'), false, /cannot read SSH identity file/],
    ['a public key', () => file('id.pub', key.public), false, /holds a public key/],
    ['no key, no agent', () => file('junk', 'not a key\n'), false, /cannot use SSH identity file.*/],
    ['no usable key, but an agent: the agent is used', () => file('junk2', 'not a key\n'), true, 'none'],
  ];
  for (const [title, path, hasAgent, want] of rows) {
    it(`${title} → ${want instanceof RegExp ? 'InputError' : want}`, async () => {
      const p = path();
      if (want instanceof RegExp) {
        const err = await loadIdentity(p, hasAgent).catch((e: unknown) => e);
        assert.ok(err instanceof InputError, String(err));
        assert.match(err.message, want);
        assert.equal(err.context.identityFile, p);
        assert.ok(err.hint, 'says what to do');
      } else {
        const k = await loadIdentity(p, hasAgent);
        assert.equal(k === undefined ? 'none' : k.isPrivateKey() ? 'key' : 'public', want);
      }
    });
  }
});
