// Network probes for tests: is anything still listening where a server was?
import { connect } from 'node:net';

/** True when a TCP connection to address:port is refused (nothing listens there any more). */
export function refused(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
