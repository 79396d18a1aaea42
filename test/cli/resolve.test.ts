import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RCODE } from '../../src/dns/types.js';
import { answer, type Responder, startResponder } from '../dns/client-responder.js';
import { runBin, runCli } from '../helpers/cli.js';
import { type KnotServer, startKnot } from '../helpers/knot.js';

const SVC = 'svc.ns.svc.cluster.local';
let knot: KnotServer;
let dir: string;

beforeAll(async () => {
  knot = await startKnot({
    ttl: 5,
    soaTtl: 4,
    records: [
      { name: `job-0.${SVC}.`, type: 'A', value: '10.1.0.10', ttl: 30 },
      { name: `_rdzv._tcp.${SVC}.`, type: 'SRV', value: `0 50 29400 job-0.${SVC}.` },
    ],
  });
  dir = mkdtempSync(join(tmpdir(), 'rdv-resolve-'));
});

afterAll(async () => {
  await knot?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('peer-rendezvous resolve against knotd', () => {
  it('prints a dig-like answer and exits 0 when records are found', async () => {
    const r = await runCli(['resolve', `job-0.${SVC}.`, '--dns-server', knot.server]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(';; ->>HEADER<<- status: NOERROR, flags: aa; ANSWER: 1');
    expect(r.stdout).toContain(`job-0.${SVC}.\t30\tIN\tA\t10.1.0.10`);
    expect(r.stdout).toContain(`;; SERVER: ${knot.server} (udp)`);
    expect(r.stdout).toMatch(/;; Query time: [\d.]+ msec/);
    expect(r.stderr).toBe('');
  });

  it('makes a relative name absolute and says so', async () => {
    const r = await runCli(['resolve', `job-0.${SVC}`, '--dns-server', knot.server]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `note: "job-0.${SVC}" has no trailing dot: asked for the absolute name "job-0.${SVC}."`,
    );
  });

  it('exits 1 for NXDOMAIN and NODATA, printing the negative TTL', async () => {
    const nx = await runCli(['resolve', `job-9.${SVC}.`, '--dns-server', knot.server]);
    expect(nx.code).toBe(1);
    expect(nx.stdout).toContain('status: NXDOMAIN');
    expect(nx.stdout).toContain(';; negative TTL: 4 s');
    const nodata = await runCli(['resolve', `job-0.${SVC}.`, '--type', 'AAAA', '--dns-server', knot.server]);
    expect(nodata.code).toBe(1);
    expect(nodata.stdout).toContain('status: NOERROR, flags: aa; ANSWER: 0');
    expect(nodata.stdout).toContain('NODATA');
  });

  it('exits 2 when the server refuses (a name outside its zone)', async () => {
    const r = await runCli(['resolve', 'elsewhere.example.', '--dns-server', knot.server]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('status: REFUSED');
  });

  it('prints one JSON object with --log-format json, SRV with the Additional addresses', async () => {
    const r = await runCli([
      'resolve',
      `_rdzv._tcp.${SVC}.`,
      '--type',
      'srv',
      '--dns-server',
      knot.server,
      '--log-format',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: `_rdzv._tcp.${SVC}.`,
      type: 'SRV',
      result: 'records',
      status: 'NOERROR',
      authoritative: true,
      server: knot.server,
      transport: 'udp',
      records: [{ type: 'SRV', port: 29400, target: `job-0.${SVC}.`, ttl: 5 }],
      additional: [{ type: 'A', address: '10.1.0.10' }],
    });
  });

  it('takes the server, timeout and attempts from --resolv-conf (nameserver with a :port)', async () => {
    const file = join(dir, 'resolv.conf');
    writeFileSync(
      file,
      `search ns.svc.cluster.local svc.cluster.local\nnameserver ${knot.server}\noptions ndots:5 timeout:1 attempts:1\n`,
    );
    const r = await runCli(['resolve', `job-0.${SVC}.`, '--resolv-conf', file, '--log-format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'records', server: knot.server });
  });

  it('runs as a real process', () => {
    const r = runBin(['resolve', `job-0.${SVC}.`, '--dns-server', knot.server]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('10.1.0.10');
    const nx = runBin(['resolve', `job-9.${SVC}.`], { PEER_RENDEZVOUS_DNS_SERVER: knot.server });
    expect(nx.code).toBe(1);
  });
});

describe('peer-rendezvous resolve: failures and bad input', () => {
  let silent: Responder;
  let failing: Responder;
  beforeAll(async () => {
    silent = await startResponder(() => {});
    failing = await startResponder((q, reply) => reply.send(answer(q.packet, { rcode: RCODE.SERVFAIL })));
  });
  afterAll(async () => {
    await silent?.close();
    await failing?.close();
  });

  it('exits 2 on SERVFAIL', async () => {
    const r = await runCli(['resolve', 'x.example.', '--dns-server', `127.0.0.1:${failing.port}`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('status: SERVFAIL');
  });

  it('exits 124 when no answer comes in time, naming the server and the tries', async () => {
    const server = `127.0.0.1:${silent.port}`;
    const r = await runCli([
      'resolve',
      'x.example.',
      '--dns-server',
      server,
      '--timeout',
      '100ms',
      '--attempts',
      '2',
    ]);
    expect(r.code).toBe(124);
    expect(r.stdout).toContain(`;; no answer: 2 tries to ${server}`);
    expect(r.stderr).toContain('[RDV_ERR_DNS_TIMEOUT]');
    expect(silent.received).toHaveLength(2);
    const json = await runCli([
      'resolve',
      'x.example.',
      '--dns-server',
      server,
      '--timeout',
      '100ms',
      '--log-format',
      'json',
    ]);
    expect(json.code).toBe(124);
    expect(JSON.parse(json.stdout)).toMatchObject({ result: 'timeout', servers: [server, server] });
  });

  it.each([
    ['abc', /"abc" is not an IP address/],
    ['1.2.3.4:99999', /port 99999 is outside 1-65535/],
    [':53', /the host is missing/],
    ['', /is empty/],
    ['[::1', /\[::1/],
  ])('rejects --dns-server %j with exit 78 naming the value', async (value, why) => {
    const r = await runCli(['resolve', 'x.example.', `--dns-server=${value}`]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`flag --dns-server ${JSON.stringify(value)}`);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toContain('[RDV_ERR_CONFIG]');
  });

  it('reads PEER_RENDEZVOUS_TIMEOUT as the other commands do: a duration capping the whole query', async () => {
    const server = `127.0.0.1:${silent.port}`;
    const r = await runCli(['resolve', 'x.example.', '--dns-server', server, '--attempts', '1'], {
      PEER_RENDEZVOUS_TIMEOUT: '0.1',
    });
    expect(r.code).toBe(124);
    expect(r.stdout).toContain(`;; no answer: 1 try to ${server}`);
  });

  it('names the env var when PEER_RENDEZVOUS_DNS_SERVER is bad', async () => {
    const r = await runCli(['resolve', 'x.example.'], { PEER_RENDEZVOUS_DNS_SERVER: 'abc' });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('env PEER_RENDEZVOUS_DNS_SERVER "abc"');
  });

  it('exits 78 for a resolv.conf without nameservers or that cannot be read', async () => {
    const file = join(dir, 'empty-resolv.conf');
    writeFileSync(file, 'search cluster.local\n');
    const none = await runCli(['resolve', 'x.example.', '--resolv-conf', file]);
    expect(none.code).toBe(78);
    expect(none.stderr).toContain('lists no nameserver');
    const missing = await runCli(['resolve', 'x.example.', '--resolv-conf', join(dir, 'nope')]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('cannot read');
  });

  it('exits 64 for a bad type or attempts, or a name with an empty label; 78 for a bad duration', async () => {
    const server = `127.0.0.1:${silent.port}`;
    expect((await runCli(['resolve', 'x.example.', '--type', 'MX', '--dns-server', server])).code).toBe(64);
    const a = await runCli(['resolve', 'x.example.', '--attempts', '0', '--dns-server', server]);
    expect(a.code).toBe(64);
    expect(a.stderr).toContain('flag --attempts "0"');
    const t = await runCli(['resolve', 'x.example.', '--timeout', 'soon', '--dns-server', server]);
    expect(t.code).toBe(78);
    expect(t.stderr).toContain('duration "soon" from flag --timeout is not valid');
    const n = await runCli(['resolve', 'a..example.', '--dns-server', server]);
    expect(n.code).toBe(64);
    expect(n.stderr).toContain('bad label');
    expect((await runCli(['resolve'])).code).toBe(64);
  });
});
