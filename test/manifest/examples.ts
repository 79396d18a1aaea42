// The examples in examples/ that `manifest` writes: file, intro comment, argv. examples.test.ts checks each
// file is exactly the intro + the current output; UPDATE_EXAMPLES=1 rewrites them.

export interface GeneratedExample {
  readonly file: string;
  readonly intro: string;
  readonly argv: readonly string[];
}

const SEED_SCRIPT = `for host in $(echo "$PEER_HOSTS" | tr , ' '); do
  getent hosts "$host"
done
echo "pod $PEER_INDEX of $PEER_COUNT: every peer resolved and answered before this line ran"
`;

const DDP_SCRIPT = `cat > /tmp/ddp.py <<'PY'
import torch
import torch.distributed as dist

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = model(torch.randn(16, 8)).pow(2).mean()
    loss.backward()
    opt.step()
total = torch.tensor([float(rank)])
dist.all_reduce(total)
print(f"rank {rank}/{world}: 3 DDP steps done, sum of ranks {total.item():.0f}")
dist.destroy_process_group()
PY
exec torchrun --nproc-per-node=1 /tmp/ddp.py
`;

const JAX_SCRIPT = `pip install --quiet --no-cache-dir 'jax[cpu]'
exec python - <<'PY'
import os
import jax

jax.distributed.initialize(
    coordinator_address=os.environ["JAX_COORDINATOR_ADDRESS"],
    num_processes=int(os.environ["JAX_NUM_PROCESSES"]),
    process_id=int(os.environ["JAX_PROCESS_ID"]),
)
print(f"process {jax.process_index()}/{jax.process_count()}: {jax.device_count()} devices in total")
x = jax.numpy.ones(jax.local_device_count())
print("psum over all devices:", jax.pmap(lambda v: jax.lax.psum(v, "i"), axis_name="i")(x))
PY
`;

export const GENERATED_EXAMPLES: readonly GeneratedExample[] = [
  {
    file: 'seed-job-with-agent.yaml',
    intro:
      'The Kubernetes "Job with Pod-to-Pod Communication" example with peer-rendezvous instead of the ping loop.\n' +
      'Same Service name, selector, subdomain and completion mode; the workload image needs no Node.js\n' +
      '(copy-in mode: an init container copies the executable in). Written by:\n' +
      '  peer-rendezvous manifest --mode copy-in --name example-job --service-name headless-svc --completions 3 \\\n' +
      '    --image debian:trixie-slim --agent-image peer-rendezvous:0.1.0 -- bash -c <script>',
    argv: [
      'manifest',
      '--mode',
      'copy-in',
      '--name',
      'example-job',
      '--service-name',
      'headless-svc',
      '--completions',
      '3',
      '--image',
      'debian:trixie-slim',
      '--agent-image',
      'peer-rendezvous:0.1.0',
      '--',
      'bash',
      '-c',
      SEED_SCRIPT,
    ],
  },
  {
    file: 'pytorch-ddp.yaml',
    intro:
      'PyTorch DDP with torchrun on 4 pods (CPU, gloo). --export torchrun gives torchrun PET_NNODES, PET_NODE_RANK,\n' +
      'PET_MASTER_ADDR/PORT and a static rendezvous (the world the barrier agreed on). Written by:\n' +
      '  peer-rendezvous manifest --mode copy-in --name ddp --completions 4 --export torchrun \\\n' +
      '    --image pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime --agent-image peer-rendezvous:0.1.0 \\\n' +
      '    --fail-fast-on-config-error -- bash -c <script>',
    argv: [
      'manifest',
      '--mode',
      'copy-in',
      '--name',
      'ddp',
      '--completions',
      '4',
      '--export',
      'torchrun',
      '--image',
      'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
      '--agent-image',
      'peer-rendezvous:0.1.0',
      '--fail-fast-on-config-error',
      '--',
      'bash',
      '-c',
      DDP_SCRIPT,
    ],
  },
  {
    file: 'jax.yaml',
    intro:
      'JAX multi-process on 2 pods (CPU). --export jax gives JAX_COORDINATOR_ADDRESS (pod 0, port 55527),\n' +
      'JAX_NUM_PROCESSES and JAX_PROCESS_ID for jax.distributed.initialize(). Written by:\n' +
      '  peer-rendezvous manifest --mode copy-in --name jax --completions 2 --export jax \\\n' +
      '    --image python:3.12-slim --agent-image peer-rendezvous:0.1.0 -- bash -c <script>',
    argv: [
      'manifest',
      '--mode',
      'copy-in',
      '--name',
      'jax',
      '--completions',
      '2',
      '--export',
      'jax',
      '--image',
      'python:3.12-slim',
      '--agent-image',
      'peer-rendezvous:0.1.0',
      '--',
      'bash',
      '-c',
      JAX_SCRIPT,
    ],
  },
  {
    file: 'pytorch-ddp-sidecar.yaml',
    intro:
      'The PyTorch DDP example with peer-rendezvous as a native sidecar (Kubernetes >= 1.29): the workload image and\n' +
      'command are unchanged, the main container starts at the release and sources the exports; the sidecar\n' +
      'stays up so that a replaced pod rejoins with the same roster (docs/sidecar.md). Written by:\n' +
      '  peer-rendezvous manifest --sidecar --name ddp --completions 4 --export torchrun --timeout 10m \\\n' +
      '    --image pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime --agent-image peer-rendezvous:0.1.0 \\\n' +
      '    --fail-fast-on-config-error -- bash -c <script>',
    argv: [
      'manifest',
      '--sidecar',
      '--name',
      'ddp',
      '--completions',
      '4',
      '--export',
      'torchrun',
      '--timeout',
      '10m',
      '--image',
      'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime',
      '--agent-image',
      'peer-rendezvous:0.1.0',
      '--fail-fast-on-config-error',
      '--',
      'bash',
      '-c',
      DDP_SCRIPT,
    ],
  },
];
