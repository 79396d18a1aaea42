#!/usr/bin/env python3
"""A gloo all_reduce over what `peer-rendezvous --export torch` hands over (MASTER_ADDR, MASTER_PORT, RANK,
WORLD_SIZE). Try it on one machine before a cluster:

    peer-rendezvous simulate -n 4 --export torch -- python3 examples/torch-allreduce.py

Every rank contributes rank + 1; every rank prints the sum, world * (world + 1) / 2.
"""
import os
from datetime import timedelta

import torch
import torch.distributed as dist

dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=60))
rank, world = dist.get_rank(), dist.get_world_size()
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t, op=dist.ReduceOp.SUM)
print(
    f"rank {rank} of {world}: all_reduce sum {t.item():g} "
    f"(expected {world * (world + 1) / 2:g}), MASTER_ADDR={os.environ['MASTER_ADDR']}",
    flush=True,
)
dist.destroy_process_group()
