import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactText } from '../../lib/core/redact.js';
import { OpenStackConfigError, loadCloudConfig, normaliseAuthUrl, selectEndpoint, tokenRequestBody } from '../../lib/openstack/index.js';
import type { CatalogService } from '../../lib/openstack/index.js';

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

  it('builds a project-scoped password request with default domains', () => {
    const cfg = loadCloudConfig({
      env: { OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'novaadmin', OS_PASSWORD: 'pw-12345' },
      project: 'tools',
      cwd,
      home,
    });
    assert.deepEqual(tokenRequestBody(cfg), {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'novaadmin', password: 'pw-12345', domain: { name: 'Default' } } } },
        scope: { project: { name: 'tools', domain: { name: 'Default' } } },
      },
    });
  });

  it('says what is missing', () => {
    assert.throws(() => loadCloudConfig({ cloud: 'nope', env: {}, cwd, home }), (err: unknown) => {
      assert.ok(err instanceof OpenStackConfigError);
      assert.match(err.message, /no clouds\.yaml with cloud "nope"/);
      assert.match(err.hint!, /clouds\.yaml/);
      return true;
    });
    writeFileSync(join(cwd, 'clouds.yaml'), clouds('  a:\n    auth:\n      auth_url: http://x/v3\n      username: u\n      password: p1234\n      project_name: p\n'));
    assert.throws(() => loadCloudConfig({ cloud: 'b', env: {}, cwd, home }), /cloud "b" is not in .* \(it has: a\)/);
    assert.throws(() => loadCloudConfig({ cloudsFile: join(dir, 'missing.yaml'), cloud: 'a', env: {}, cwd, home }), /clouds\.yaml not found/);
    assert.throws(() => loadCloudConfig({ env: { OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u' }, cwd, home }), /lacks a password/);
    assert.throws(() => loadCloudConfig({ env: { OS_AUTH_URL: 'http://k/v3', OS_USERNAME: 'u', OS_PASSWORD: 'pppp' }, cwd, home }), /lacks a project/);
    assert.throws(() => normaliseAuthUrl('http://k:5000/v2.0'), /Keystone v2/);
  });

  it('selects catalog endpoints by type, interface and region', () => {
    const catalog: CatalogService[] = [
      {
        type: 'compute',
        endpoints: [
          { interface: 'public', region_id: 'r1', url: 'https://nova.r1/v2.1/' },
          { interface: 'internal', region_id: 'r1', url: 'http://nova-int.r1/v2.1' },
          { interface: 'public', region_id: 'r2', url: 'https://nova.r2/v2.1' },
        ],
      },
      { type: 'image', endpoints: [{ interface: 'public', region: 'r1', url: 'https://glance.r1' }] },
    ];
    assert.equal(selectEndpoint(catalog, 'compute', 'public', 'r2'), 'https://nova.r2/v2.1');
    assert.equal(selectEndpoint(catalog, 'compute', 'internal', 'r1'), 'http://nova-int.r1/v2.1');
    assert.equal(selectEndpoint(catalog, 'compute', 'public', 'r1'), 'https://nova.r1/v2.1');
    assert.equal(selectEndpoint(catalog, 'image', 'public', 'r1'), 'https://glance.r1');
    assert.throws(() => selectEndpoint(catalog, 'network', 'public', 'r1'), (err: unknown) => {
      assert.ok(err instanceof OpenStackConfigError);
      assert.match(err.message, /no public network endpoint in region r1/);
      assert.match(String(err.context.offered), /compute\/public\/r2/);
      return true;
    });
    assert.throws(() => selectEndpoint(catalog, 'image', 'admin', 'r1'), /no admin image endpoint/);
  });
});
