// Loopback addresses for lab hosts. Each lab picks a random block 127.A.B.0 (A in 100..250) so that
// concurrent labs (tests run several) do not collide; every host of a lab listens on the same port, on its
// own address, as real hosts would all listen on 22.
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/** Binds then releases addr:port; resolves to the bound port, rejects with the listen error (EADDRINUSE, ...). */
export function probeBind(address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port, exclusive: true }, () => {
      const bound = (srv.address() as { port: number }).port;
      srv.close(() => resolve(bound));
    });
  });
}

/** A sequence of addresses 127.A.B.1, .2, … .254, then 127.A.(B+1).1, … */
export class AddressBlock {
  private next = 0;

  constructor(
    readonly a: number,
    readonly b: number,
  ) {}

  /** A block at a random place in 127.100-250.x.0. */
  static random(): AddressBlock {
    return new AddressBlock(randomInt(100, 251), randomInt(0, 256));
  }

  /** The first address of the block (where the port is chosen). */
  get first(): string {
    return this.at(0);
  }

  private at(i: number): string {
    const b = (this.b + Math.floor(i / 254)) % 256;
    return `127.${this.a}.${b}.${(i % 254) + 1}`;
  }

  /** The next address not handed out yet. Addresses of deleted hosts are not reused: clients may still cache them. */
  take(): string {
    if (this.next >= 254 * 256) throw new Error(`lab address block 127.${this.a}.x.x is exhausted`);
    return this.at(this.next++);
  }

  /** How many addresses were handed out. */
  get used(): number {
    return this.next;
  }
}

/** Picks a block and a port free on its first address, retrying other blocks when the first is taken. */
export async function reserveBlock(port = 0, attempts = 8): Promise<{ block: AddressBlock; port: number }> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const block = AddressBlock.random();
    try {
      const bound = await probeBind(block.first, port);
      return { block, port: bound };
    } catch (err) {
      lastError = err;
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no free lab address block');
}
