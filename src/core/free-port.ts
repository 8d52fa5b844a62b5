/**
 * A TCP port on 127.0.0.1 that the kernel picked as free a moment ago. Another process may take it
 * before it is used: callers that can should listen on port 0 themselves instead.
 */
import { createServer } from 'node:net';

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('the loopback listener reported no port'));
      });
    });
  });
}
