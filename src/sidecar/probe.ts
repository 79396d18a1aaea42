// The sidecar's probe endpoint: `GET /readyz` answers 503 until the release, 200 after (a startupProbe holds
// the pod's main containers back until then). `GET /livez` is 200 while the process runs.
import type { Server } from 'node:http';
import { ConfigError } from '../errors.js';

export class ProbeServer {
  #ready = false;
  #server: Server | undefined;
  #body = 'waiting for peers\n';

  get ready(): boolean {
    return this.#ready;
  }

  /** From now on /readyz answers 200 with `body`. */
  markReady(body: string): void {
    this.#ready = true;
    this.#body = body;
  }

  async start(port: number, host: string | undefined): Promise<number> {
    // node:http is loaded here, not at start-up: only a sidecar serves probes, and loading it costs every pod.
    const server = process.getBuiltinModule('node:http').createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/readyz') {
        res
          .writeHead(this.#ready ? 200 : 503, {
            'content-type': 'text/plain; charset=utf-8',
            connection: 'close',
          })
          .end(req.method === 'HEAD' ? undefined : this.#body);
      } else if (path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('ok\n');
      } else res.writeHead(404, { connection: 'close' }).end();
    });
    // Probes are tiny: bound what one connection may hold.
    server.headersTimeout = 5000;
    server.requestTimeout = 5000;
    server.maxHeadersCount = 32;
    server.maxConnections = 64;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new ConfigError(
            error.code === 'EADDRINUSE'
              ? `probe port ${port} is already in use: pick another --probe-port`
              : `cannot serve the probe on ${host ?? '*'}:${port}: ${error.message}`,
            { value: String(port), source: 'option probe-port', cause: error },
          ),
        ),
      );
      server.listen({ port, host }, () => {
        server.removeAllListeners('error');
        server.on('error', () => {});
        resolve();
      });
    });
    const addr = server.address();
    return addr && typeof addr === 'object' ? addr.port : port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
