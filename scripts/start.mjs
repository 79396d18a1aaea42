#!/usr/bin/env node
// `npm start`: the README's main job. With a Python that has PyTorch, 4 simulated pods run a real gloo
// all_reduce over the torch exports (examples/torch-allreduce.py); without one, each pod echoes what it got.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'peer-rendezvous.js');

/** The first python3 (PATH's, then Debian's) that can import torch, or undefined. */
function pythonWithTorch() {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(
      python,
      ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("torch") else 1)'],
      {
        stdio: 'ignore',
        timeout: 20_000,
      },
    );
    if (r.status === 0) return python;
  }
  return undefined;
}

const python = pythonWithTorch();
const workload = python
  ? [python, path.join('examples', 'torch-allreduce.py')]
  : ['sh', '-c', 'echo "rank $RANK of $WORLD_SIZE, MASTER_ADDR=$MASTER_ADDR:$MASTER_PORT"'];
console.error(
  python
    ? `npm start: ${python} has PyTorch: a gloo all_reduce across 4 simulated pods`
    : 'npm start: no python3 with PyTorch here: each of 4 simulated pods echoes its torch exports',
);
const r = spawnSync(process.execPath, [bin, 'simulate', '-n', '4', '--export', 'torch', '--', ...workload], {
  cwd: root,
  stdio: 'inherit',
});
process.exitCode = r.status ?? 1;
