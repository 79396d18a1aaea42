// The loopback `simulate` runs a real distributed workload: PyTorch's gloo all_reduce over the torch exports
// (Debian's python3-torch at /usr/bin/python3; CI installs it). No root: loopback pods, the project's DNS.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runBin } from '../helpers/cli.js';

const PYTHON = '/usr/bin/python3';
const torch = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });

describe('simulate on loopback with a real PyTorch workload', () => {
  it('torch is installed (python3-torch): this file tests nothing without it', () => {
    expect(torch.status, `${PYTHON} -c 'import torch' failed: ${torch.stderr}`).toBe(0);
  });

  it('-n 3 --export torch: gloo init_process_group and all_reduce on every rank, addresses handed over', () => {
    const r = runBin(
      ['simulate', '-n', '3', '--export', 'torch', '--', PYTHON, 'examples/torch-allreduce.py'],
      { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    // torch's own view: world size and the reduced value, on every rank.
    const ranks = [
      ...(r.stdout + r.stderr).matchAll(
        /rank (\d) of (\d): all_reduce sum (\S+) \(expected \S+\), MASTER_ADDR=(\S+)/g,
      ),
    ];
    expect(ranks.map((m) => Number(m[1])).sort()).toEqual([0, 1, 2]);
    for (const m of ranks) {
      expect(m[2]).toBe('3');
      expect(m[3]).toBe('6');
      // An address (the coordinator's loopback one), not a name only the simulation's DNS knows.
      expect(m[4]).toMatch(/^127\.\d+\.\d+\.\d+$/);
    }
    expect(r.stderr).toMatch(/3\/3 released, 3\/3 exited 0/);
  }, 150_000);
});
