import assert from 'node:assert/strict';
import {
  OpenStackAuthError,
  OpenStackConflictError,
  OpenStackNotFoundError,
  OpenStackQuotaError,
  OpenStackServiceError,
  apiMessageOf,
  quotaOf,
  toApiError,
} from '../../lib/openstack/index.js';

function answer(status: number, body: string, requestId = 'req-0f3c'): { status: number; headers: Headers; text: string; requestId: string } {
  return { status, headers: new Headers({ 'x-openstack-request-id': requestId }), text: body, requestId };
}

describe('openstack wire: error bodies and typed errors', () => {
  it('finds the API message in Nova, Keystone, Neutron and plain bodies', () => {
    assert.equal(apiMessageOf('{"itemNotFound": {"message": "Instance x could not be found.", "code": 404}}'), 'Instance x could not be found.');
    assert.equal(apiMessageOf('{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}'), 'The request you have made requires authentication.');
    assert.equal(apiMessageOf('{"NeutronError": {"type": "NetworkNotFound", "message": "Network n could not be found.", "detail": ""}}'), 'Network n could not be found.');
    assert.equal(apiMessageOf('<html><body><h1>503 Service Unavailable</h1>No server is available</body></html>'), '503 Service Unavailable No server is available');
  });

  it('names the quota in over-quota messages', () => {
    assert.equal(quotaOf('Quota exceeded for instances: Requested 1, but already used 10 of 10 instances'), 'instances');
    assert.equal(quotaOf('Quota exceeded for cores: Requested 8, but already used 36 of 40 cores'), 'cores');
    assert.equal(quotaOf('Quota exceeded, too many servers in group'), undefined);
  });

  it('maps statuses to typed errors carrying method, URL, status, request id and message', () => {
    const quota = toApiError(
      'POST',
      'http://127.0.0.1:1/compute/v2.1/servers',
      answer(403, '{"forbidden": {"message": "Quota exceeded for instances: Requested 1, but already used 4 of 4 instances", "code": 403}}'),
      'create server tb-1',
    );
    assert.ok(quota instanceof OpenStackQuotaError);
    assert.equal(quota.quota, 'instances');
    assert.equal(quota.requestId, 'req-0f3c');
    assert.match(quota.message, /over quota for instances: .*4 of 4.* \(create server tb-1\) \[request req-0f3c\]/);
    assert.deepEqual(
      { method: quota.context.method, status: quota.context.status, requestId: quota.context.requestId, quota: quota.context.quota },
      { method: 'POST', status: 403, requestId: 'req-0f3c', quota: 'instances' },
    );
    assert.ok(toApiError('POST', 'http://x/v2.1/servers', answer(413, '{"overLimit": {"message": "Quota exceeded for ram: Requested 4096"}}')) instanceof OpenStackQuotaError);
    assert.ok(toApiError('GET', 'http://x/v2.1/servers/1', answer(404, '{"itemNotFound": {"message": "gone"}}')) instanceof OpenStackNotFoundError);
    assert.ok(toApiError('POST', 'http://x/v2.1/servers/1/action', answer(409, '{"conflictingRequest": {"message": "Cannot reboot while building"}}')) instanceof OpenStackConflictError);
    assert.ok(toApiError('POST', 'http://x/v3/auth/tokens', answer(401, '{"error": {"message": "bad"}}')) instanceof OpenStackAuthError);
    const svc = toApiError('GET', 'http://x/v2.1/servers', answer(503, 'Service Unavailable'));
    assert.ok(svc instanceof OpenStackServiceError);
    assert.equal(svc.status, 503);
  });
});
