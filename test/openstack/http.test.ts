// Which failed OpenStack calls are worth another attempt (of a call that is safe to repeat): one table of
// errors → verdict, one `it` per row.
import assert from 'node:assert/strict';
import { InputError } from '../../lib/core/errors.js';
import { OpenStackApiError, OpenStackConflictError, OpenStackConnectionError, OpenStackNotFoundError, OpenStackRateLimitError, OpenStackServiceError } from '../../lib/openstack/errors.js';
import { isTransient } from '../../lib/openstack/http.js';

const facts = (status: number) => ({ method: 'GET', url: 'https://nova/v2.1/servers', status, apiMessage: 'm' });

describe('openstack http: isTransient', () => {
  const rows: [string, unknown, boolean][] = [
    ['connection lost', new OpenStackConnectionError('socket hang up'), true],
    ['429 rate limited', new OpenStackRateLimitError('slow down', facts(429)), true],
    ['500', new OpenStackServiceError('oops', facts(500)), true],
    ['502', new OpenStackServiceError('bad gateway', facts(502)), true],
    ['503', new OpenStackServiceError('unavailable', facts(503)), true],
    ['504', new OpenStackServiceError('timeout', facts(504)), true],
    ['501 not implemented', new OpenStackServiceError('no', facts(501)), false],
    ['404', new OpenStackNotFoundError('gone', facts(404)), false],
    ['409', new OpenStackConflictError('state', facts(409)), false],
    ['400', new OpenStackApiError('bad', facts(400)), false],
    ['our own input error', new InputError('bad input'), false],
    ['a plain Error', new Error('ECONNRESET'), false],
  ];
  for (const [title, err, want] of rows) it(`${title} → ${want}`, () => assert.equal(isTransient(err), want));
});
