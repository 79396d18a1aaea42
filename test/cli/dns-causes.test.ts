// What a DNS failure looks like in the agent's report, with real processes and sockets: the socket's own error
// (ECONNREFUSED) is kept, a silent server is named even when --timeout is shorter than the resolver's timeout.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyResponse } from '../../src/dns/client-classify.js';
import { runBin, startBin } from '../helpers/cli.js';
import { freePort, JOB, NS, SVC } from '../helpers/job.js';
import { startKnot } from '../helpers/knot.js';

const identity = (index: number, completions: number) => [
  ...['--index', String(index), '--completions', String(completions), '--job-name', JOB],
  ...['--subdomain', SVC, '--namespace', NS, '--cluster-domain', 'cluster.local'],
  ...['--hostname', `${JOB}-${index}`, '--hosts-file', '/nonexistent/hosts'],
  ...['--resolv-conf', '/nonexistent/resolv.conf', '--namespace-file', '/nonexistent/namespace'],
  ...['--progress-interval', '0', '--listen', '127.55.0.2'],
];

let silent: Socket | undefined;
afterEach(() => {
  silent?.close();
  silent = undefined;
});

/** A UDP port on 127.0.0.1 that receives every question and answers none. */
async function silentDns(): Promise<number> {
  const s = createSocket('udp4');
  silent = s;
  s.on('message', () => {});
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s.address().port;
}

/** A UDP port on 127.0.0.1 nobody listens on: the kernel answers ICMP port unreachable. */
async function closedUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(resolve));
  return port;
}

describe('DNS causes in the report', () => {
  it('keeps ECONNREFUSED (ICMP port unreachable) instead of a bare "DNS timeout"', async () => {
    const port = await closedUdpPort();
    const r = await startBin([
      'wait',
      ...identity(1, 2),
      ...['--port', String(await freePort()), '--dns-server', `127.0.0.1:${port}`, '--timeout', '2s'],
    ]).done;
    expect(r.code, r.stderr).toBe(124);
    expect(r.stderr).toMatch(
      new RegExp(
        `0 {2}${JOB}-0\\.${SVC}\\.${NS}\\.svc\\.cluster\\.local\\. {2}DNS timeout since \\d+ s \\(ECONNREFUSED from 127\\.0\\.0\\.1:${port}\\)`,
      ),
    );
    expect(r.stderr).toMatch(/- nothing listens on the DNS server address \(ECONNREFUSED/);
    expect(r.stderr).not.toMatch(/the cluster DNS does not answer/);
  });

  it('with --timeout 3s (under the resolver\'s 2 s × 2 tries) a silent DNS is a DNS timeout, not "not seen yet"', async () => {
    const port = await silentDns();
    const r = await startBin([
      'wait',
      ...identity(1, 2),
      ...['--port', String(await freePort()), '--dns-server', `127.0.0.1:${port}`, '--timeout', '3s'],
    ]).done;
    expect(r.code, r.stderr).toBe(124);
    expect(r.stderr).toMatch(/ {2}0 {2}\S+ {2}DNS timeout since \d+ s \(question unanswered\)/);
    expect(r.stderr).not.toMatch(/not seen yet/);
    expect(r.stderr).toMatch(/hints:\n {2}- the cluster DNS does not answer/);
  });
});

describe('a CNAME loop', () => {
  const coordinator = `${JOB}-0.${SVC}.${NS}.svc.cluster.local.`;
  const other = `loop-b.${NS}.svc.cluster.local.`;

  it('is reported as a CNAME loop by wait and resolve (Knot answers NOERROR with both CNAMEs)', async () => {
    const knot = await startKnot({
      records: [
        { name: coordinator, type: 'CNAME', value: other },
        { name: other, type: 'CNAME', value: coordinator },
      ],
    });
    try {
      const r = await startBin([
        'wait',
        ...identity(1, 2),
        // Past RECORD_GRACE_MS (2 s): without evidence in the Service, the coordinator's name is asked then.
        ...['--port', String(await freePort()), '--dns-server', knot.server, '--timeout', '3500ms'],
      ]).done;
      expect(r.code, r.stderr).toBe(124);
      expect(r.stderr).toContain(`0  ${coordinator}  CNAME loop since`);
      expect(r.stderr).toContain(`(${coordinator} → ${other} → ${coordinator} from ${knot.server})`);
      // The coordinator's loop is not shown as a NODATA (the Service's own NODATA is said once, as a notice).
      expect(r.stderr).not.toContain(`NODATA for ${coordinator}`);
      expect(r.stderr).not.toMatch(/ {2}NODATA since/);
      expect(r.stderr).toMatch(
        /the headless Service has no published pod yet: NODATA for \S+ is cached until/,
      );
      expect(r.stderr).toMatch(/- a peer's name is a CNAME chain that comes back to itself/);

      const text = runBin(['resolve', coordinator, '--dns-server', knot.server]);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(
        `;; CNAME loop: ${coordinator} -> ${other} -> ${coordinator} (no A record can be reached)`,
      );
      const json = runBin(['resolve', coordinator, '--dns-server', knot.server, '--log-format', 'json']);
      expect(JSON.parse(json.stdout)).toMatchObject({
        result: 'nodata',
        cnameLoop: [coordinator, other, coordinator],
      });
    } finally {
      await knot.stop();
    }
  });

  it('tells a loop and an over-long chain from a plain NODATA (pure)', () => {
    const meta = { server: '127.0.0.1:53', transport: 'udp', elapsedMs: 1 } as const;
    const view = (answers: { name: string; type: string; data: string }[]) => ({
      rcode: 'NOERROR',
      flag_aa: true,
      answers,
      authorities: [],
      additionals: [],
    });
    const self = classifyResponse(view([{ name: 'a.x', type: 'CNAME', data: 'a.x' }]), 'a.x.', 'A', meta);
    expect(self).toMatchObject({ kind: 'nodata', cnameLoop: ['a.x.', 'a.x.'] });
    const chain = Array.from({ length: 20 }, (_, i) => ({
      name: `n${i}.x`,
      type: 'CNAME',
      data: `n${i + 1}.x`,
    }));
    const long = classifyResponse(view(chain), 'n0.x.', 'A', meta);
    expect(long.kind === 'nodata' && long.cnameLoop?.length).toBe(18);
    // A chain that ends without an A record is NODATA, not a loop; one that ends in one is an answer.
    const dangling = classifyResponse(view([{ name: 'a.x', type: 'CNAME', data: 'b.x' }]), 'a.x.', 'A', meta);
    expect(dangling).toMatchObject({ kind: 'nodata' });
    expect(dangling).not.toHaveProperty('cnameLoop');
    const ok = classifyResponse(
      view([
        { name: 'a.x', type: 'CNAME', data: 'b.x' },
        { name: 'b.x', type: 'A', data: '10.0.0.1' },
      ]),
      'a.x.',
      'A',
      meta,
    );
    expect(ok).toMatchObject({ kind: 'records', records: [{ address: '10.0.0.1' }] });
  });
});
