// The cluster DNS in another process (the hub namespace of `simulate --netns`), driven by JSON lines:
// stdin `{"id":1,"op":"setPod","arg":{…}}` → stdout `{"id":1,"ok":true,"result":…}`. Ends when stdin closes.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ClusterDnsServer } from '../dns/server.js';
import { parseServerAddress } from '../dns/server-address.js';
import { RendezvousError } from '../errors.js';
import type { SimulateIo } from './args.js';
import { parseDnsCache } from './faults.js';
import type { DnsControl } from './placement.js';

type Op = 'addService' | 'setPod' | 'removePod' | 'setFaults' | 'queries';

/** Serve the DNS on `hostPort` and obey the control lines on stdin (the child side). */
export async function serveDnsChild(
  hostPort: string,
  zone: string,
  io: SimulateIo,
  dnsCache?: string,
): Promise<void> {
  const { host, port } = parseServerAddress(hostPort, 'flag --serve-dns');
  // Behind a cache (simulate --netns --dns-cache): the zone TTL and SOA MINIMUM follow the cap, as kubeadm's
  // Corefile has them (`ttl 30`, `cache 30`); the cache itself is unbound in front of this server.
  const ttl = parseDnsCache(dnsCache);
  const server = await ClusterDnsServer.start({ host, port, zone, ...(ttl === undefined ? {} : { ttl }) });
  io.stdout(`${JSON.stringify({ ready: true, host: server.address.host, port: server.address.port })}\n`);
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let id: unknown;
      try {
        const msg = JSON.parse(line) as { id: unknown; op: Op; arg: never };
        id = msg.id;
        let result: unknown = null;
        switch (msg.op) {
          case 'addService':
            server.addService(msg.arg);
            break;
          case 'setPod':
            server.setPod(msg.arg);
            break;
          case 'removePod':
            server.removePod(msg.arg);
            break;
          case 'setFaults':
            server.setFaults(msg.arg);
            break;
          case 'queries':
            result = server.stats().total;
            break;
          default:
            throw new Error(`unknown op ${JSON.stringify(msg.op)}`);
        }
        io.stdout(`${JSON.stringify({ id, ok: true, result })}\n`);
      } catch (error) {
        io.stdout(`${JSON.stringify({ id, ok: false, error: (error as Error).message })}\n`);
      }
    }
  } finally {
    await server.close();
  }
}

/** The parent side: a DnsControl talking to a child started with `simulate --serve-dns`. */
export async function connectDnsChild(child: ChildProcess, timeoutMs = 10_000): Promise<DnsControl> {
  const stdin = child.stdin;
  const stdout = child.stdout;
  if (stdin === null || stdout === null)
    throw new TypeError('Expected the DNS child with piped stdin and stdout');
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2_000);
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new RendezvousError(
            'RDV_ERR_DNS',
            `the DNS server did not start within ${timeoutMs} ms: ${stderr.trim()}`,
          ),
        ),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      const error = new RendezvousError('RDV_ERR_DNS', `the DNS server exited (${code}): ${stderr.trim()}`);
      reject(error);
      for (const w of waiting.values()) w.reject(error);
      waiting.clear();
    });
    createInterface({ input: stdout }).on('line', (line) => {
      let msg: { ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: string };
      try {
        msg = JSON.parse(line);
      } catch {
        return;
      }
      if (msg.ready) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const w = msg.id === undefined ? undefined : waiting.get(msg.id);
      if (w === undefined) return;
      waiting.delete(msg.id!);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new RendezvousError('RDV_ERR_DNS', `DNS server: ${msg.error}`));
    });
  });
  await ready;
  const call = (op: Op, arg?: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      stdin.write(`${JSON.stringify({ id, op, arg })}\n`);
    });
  return {
    addService: async (spec) => void (await call('addService', spec)),
    setPod: async (spec) => void (await call('setPod', spec)),
    removePod: async (ref) => void (await call('removePod', ref)),
    setFaults: async (faults) => void (await call('setFaults', faults)),
    queries: async () => Number(await call('queries')),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
