import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactText } from '../../lib/core/redact.js';
import { OpenStackConfigError, loadCloudConfig, normaliseAuthUrl, tokenRequestBody } from '../../lib/openstack/index.js';

describe('openstack config: clouds.yaml, secure.yaml and OS_*', () => {
  let dir: string;
  let home: string;
  let cwd: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cc-os-config-'));
    home = join(dir, 'home');
    cwd = join(dir, 'cwd');
    mkdirSync(join(home, '.config', 'openstack'), { recursive: true });
    mkdirSync(cwd);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const clouds = (cloudsBody: string): string => `clouds:\n${cloudsBody}`;

  it('reads an explicit clouds.yaml and merges secure.yaml beside it', () => {
    const file = join(dir, 'clouds.yaml');
    writeFileSync(
      file,
      clouds(`  lab:
    auth:
      auth_url: http://127.0.0.1:5000/identity
      username: admin
      project_name: toolsbeta
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: internal
`),
    );
    writeFileSync(join(dir, 'secure.yaml'), 'clouds:\n  lab:\n    auth:\n      password: s3cret-pw-1\n');
    const cfg = loadCloudConfig({ cloud: 'lab', cloudsFile: file, env: {}, cwd, home });
    assert.equal(cfg.source, file);
    assert.equal(cfg.authType, 'password');
    assert.equal(cfg.authUrl, 'http://127.0.0.1:5000/identity/v3');
    assert.equal(cfg.password, 's3cret-pw-1');
    assert.equal(cfg.regionName, 'RegionOne');
    assert.equal(cfg.interface, 'internal');
    // The password is registered as a secret as soon as it is read.
    assert.equal(redactText('pw is s3cret-pw-1'), 'pw is [REDACTED]');
  });

  it('uses OS_CLIENT_CONFIG_FILE, then the standard paths, in that order', () => {
    const entry = (url: string) => clouds(`  c1:\n    auth:\n      auth_url: ${url}\n      username: u\n      password: p1234\n      project_name: p\n`);
    writeFileSync(join(home, '.config', 'openstack', 'clouds.yaml'), entry('http://home:5000/v3'));
    assert.equal(loadCloudConfig({ cloud: 'c1', env: {}, cwd, home }).authUrl, 'http://home:5000/v3');
    writeFileSync(join(cwd, 'clouds.yaml'), entry('http://cwd:5000'));
    assert.equal(loadCloudConfig({ cloud: 'c1', env: {}, cwd, home }).authUrl, 'http://cwd:5000/v3');
    const other = join(dir, 'other.yaml');
    writeFileSync(other, entry('http://env:5000/v3'));
    assert.equal(loadCloudConfig({ cloud: 'c1', env: { OS_CLIENT_CONFIG_FILE: other }, cwd, home }).authUrl, 'http://env:5000/v3');
  });

  it('falls back to OS_* variables, with application credentials', () => {
    const cfg = loadCloudConfig({
      env: {
        OS_AUTH_URL: 'https://keystone.example.org:5000/v3/',
        OS_AUTH_TYPE: 'v3applicationcredential',
        OS_APPLICATION_CREDENTIAL_ID: 'abc123',
        OS_APPLICATION_CREDENTIAL_SECRET: 'appcred-secret-xyz',
        OS_REGION_NAME: 'eqiad1-r',
        OS_INTERFACE: 'public',
      },
      cwd,
      home,
    });
    assert.equal(cfg.source, 'environment');
    assert.equal(cfg.authType, 'application_credential');
    assert.equal(cfg.authUrl, 'https://keystone.example.org:5000/v3');
    assert.deepEqual(tokenRequestBody(cfg), {
      auth: { identity: { methods: ['application_credential'], application_credential: { id: 'abc123', secret: 'appcred-secret-xyz' } } },
    });
    assert.equal(redactText('appcred-secret-xyz'), '[REDACTED]');
  });

  // What is missing or wrong, said as an OpenStackConfigError with a hint; `files` are written to cwd first.
  const problems: [title: string, files: Record<string, string>, options: () => Parameters<typeof loadCloudConfig>[0], message: RegExp][] = [
    ['no clouds.yaml with the cloud, no OS_AUTH_URL', {}, () => ({ cloud: 'nope', env: {} }), /no clouds\.yaml with cloud "nope" found and OS_AUTH_URL is not set/],
    ['nothing configured at all', {}, () => ({ env: {} }), /no OpenStack cloud configured/],
    ['a cloud the file lacks', { 'clouds.yaml': clouds('  a:\n    auth:\n      auth_url: http://x/v3\n      username: u\n      password: p1234\n      project_name: p\n') }, () => ({ cloud: 'b', env: {} }), /cloud "b" is not in .* \(it has: a\)/],
    ['a cloudsFile that does not exist', {}, () => ({ cloudsFile: join(dir, 'missing.yaml'), cloud: 'a', env: {} }), /clouds\.yaml not found/],
    ['an OS_CLIENT_CONFIG_FILE that does not exist', {}, () => ({ cloud: 'a', env: { OS_CLIENT_CONFIG_FILE: join(dir, 'gone.yaml') } }), /OS_CLIENT_CONFIG_FILE points to .*gone\.yaml, which does not exist/],
    ['OS_* without a password', {}, () => ({ env: { OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u' } }), /lacks a password/],
    ['OS_* without a project', {}, () => ({ env: { OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u', OS_PASSWORD: 'pppp' } }), /lacks a project/],
  ];
  for (const [title, files, options, message] of problems) {
    it(`refuses: ${title}`, () => {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
      assert.throws(
        () => loadCloudConfig({ cwd, home, ...options() }),
        (err: unknown) => err instanceof OpenStackConfigError && message.test(err.message) && typeof err.hint === 'string' && err.hint.length > 0,
      );
    });
  }
});

describe('openstack config: normaliseAuthUrl', () => {
  const rows: [string, string | RegExp][] = [
    ['http://k:5000', 'http://k:5000/v3'],
    ['http://k:5000/', 'http://k:5000/v3'],
    ['http://k:5000/v3', 'http://k:5000/v3'],
    ['https://keystone.example.org:5000/v3/', 'https://keystone.example.org:5000/v3'],
    ['http://127.0.0.1:5000/identity', 'http://127.0.0.1:5000/identity/v3'],
    ['http://k:5000/v2.0', /Keystone v2/],
    ['http://k:5000/v2', /Keystone v2/],
    ['not a url', /auth_url is not a URL/],
  ];
  for (const [url, want] of rows) {
    it(`${url} → ${want instanceof RegExp ? 'OpenStackConfigError' : want}`, () => {
      if (typeof want === 'string') return assert.equal(normaliseAuthUrl(url), want);
      assert.throws(() => normaliseAuthUrl(url), (err: unknown) => err instanceof OpenStackConfigError && want.test(err.message));
    });
  }
});
