import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on `host:port` (0 = any free port) and resolves with the base URL. A short keep-alive, so clients'
 * pooled sockets do not outlive a test or a stopped sandbox. Rejects with the listen error (EADDRINUSE…).
 */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shown}:${address.port}`;
}
