// `env` end to end: two real agents, their exports eval'd by bash and parsed as JSON.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { evalInBash } from '../helpers/bash.js';
import { startBin } from '../helpers/cli.js';

const startBinDone = (argv: string[], env: Record<string, string> = {}) => startBin(argv, env).done;

import { JOB, type LoopbackJob, loopbackJob, NS, podFlags, SVC } from '../helpers/job.js';

const BLOCK = 52;
const work = mkdtempSync(join(tmpdir(), 'rdv-env-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let job: LoopbackJob | undefined;
afterEach(async () => {
  await job?.close();
  job = undefined;
});

const fqdn = (i: number) => `${JOB}-${i}.${SVC}.${NS}.svc.cluster.local`;

describe('env', () => {
  it('prints eval-safe exports on every pod; a hostile --roster-file path survives unchanged', async () => {
    job = await loopbackJob(2, BLOCK);
    for (const i of [0, 1]) job.publish(i);
    const hostile = (i: number) => join(work, `it's "$(touch ${work}/pwned)" \`id\` ü 🚀\nline ${i}.json`);
    const [pod0, pod1] = await Promise.all(
      [0, 1].map((i) =>
        startBinDone([
          'env',
          ...podFlags(job!, i),
          '--export',
          'torchrun',
          '--elastic',
          '--rdzv-port',
          '1234',
          '--roster-file',
          hostile(i),
        ]),
      ),
    );
    for (const [i, r] of [pod0!, pod1!].entries()) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(`export PEER_INDEX='${i}'`);
      const names = ['PEER_INDEX', 'PEER_HOSTS', 'PEER_ROSTER_FILE', 'PET_RDZV_ENDPOINT', 'PET_RDZV_CONF'];
      expect(evalInBash(r.stdout, names)).toEqual([
        String(i),
        `${fqdn(0)},${fqdn(1)}`,
        hostile(i),
        `${fqdn(0)}:1234`,
        `is_host=${i === 0}`,
      ]);
      const roster = JSON.parse(readFileSync(hostile(i), 'utf8'));
      expect(roster.index).toBe(i);
      expect(roster.peers.map((p: { host: string }) => p.host)).toEqual([fqdn(0), fqdn(1)]);
    }
    expect(existsSync(join(work, 'pwned'))).toBe(false);
    // Both pods agree on the generation, which torchrun uses as its rendezvous id.
    const id = (out: string) => /PET_RDZV_ID='([^']*)'/.exec(out)?.[1];
    expect(id(pod0!.stdout)).toBeDefined();
    expect(id(pod0!.stdout)).toBe(id(pod1!.stdout));
  });

  it('prints one JSON object with --format json, keeps the env own values and warns once', async () => {
    job = await loopbackJob(2, BLOCK);
    for (const i of [0, 1]) job.publish(i);
    const [pod0] = await Promise.all(
      [0, 1].map((i) =>
        startBinDone(
          [
            'env',
            ...podFlags(job!, i).filter((f) => f !== '--quiet'),
            '--format',
            'json',
            '--export',
            'torch,mpi',
            '--hostfile',
            join(work, `h${i}`, 'hostfile'),
          ],
          { RANK: '7', MASTER_PORT: '29500' },
        ),
      ),
    );
    expect(pod0!.code, pod0!.stderr).toBe(0);
    const env = JSON.parse(pod0!.stdout);
    expect(env.RANK).toBeUndefined();
    expect(env.MASTER_PORT).toBeUndefined();
    expect(env.WORLD_SIZE).toBe('2');
    expect(env.OMPI_MCA_orte_default_hostfile).toBe(join(work, 'h0', 'hostfile'));
    expect(readFileSync(join(work, 'h0', 'hostfile'), 'utf8')).toBe(
      `${fqdn(0)} slots=1\n${fqdn(1)} slots=1\n`,
    );
    expect(readFileSync(join(work, 'h0', 'hostfile.mpich'), 'utf8')).toBe(`${fqdn(0)}:1\n${fqdn(1)}:1\n`);
    const warnings = pod0!.stderr.split('\n').filter((l) => l.includes('already sets'));
    expect(warnings).toEqual([
      'peer-rendezvous: warning: the environment already sets RANK; keeping its values instead of the exported ones',
    ]);
  });
});
