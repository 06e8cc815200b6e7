#!/usr/bin/env python3
"""Records real PyTorch profiler traces on the CPU, for fixtures and benchmarks.

    python3 tools/record_cpu_traces.py gloo  --out DIR [--slow-rank 1 --slow-ms 120 --steps 4]
    python3 tools/record_cpu_traces.py stack --out DIR [--steps 6]

`gloo`: a two-process DDP run on the gloo backend (torch.multiprocessing, one process per
rank, a small convolutional model). One rank's dataset sleeps `--slow-ms` per batch, as a
rank reading from a slow disk would; the other's does not. Each rank writes
`rank<N>.pt.trace.json` with `distributedInfo` (backend "gloo"). The collectives there are
host work: `gloo:all_reduce` annotations and `c10d::allreduce_` ops, no NCCL kernels.

`stack`: one process, `torch.profiler.profile(with_stack=True, profile_memory=True,
record_shapes=True)`, the kind of trace users record to hunt Python overhead: every op carries
its Python stack, and `[memory]` instant events record each allocation.

Needs torch (the CPU wheel is enough). Nothing here reads the network.
"""

import argparse
import os
import sys
import time


def model_and_batches(torch, batch, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(256, 10),
    )
    return model


def train(torch, model, loader, path, schedule, **profiler_options):
    """One pass of SGD over `loader` under the CPU profiler, the trace written to `path`."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with torch.profiler.profile(
        activities=[torch.profiler.ProfilerActivity.CPU],
        schedule=schedule,
        on_trace_ready=lambda prof: prof.export_chrome_trace(path),
        **profiler_options,
    ) as prof:
        for images, labels in loader:
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            prof.step()


class SlowDataset:
    """Random images; `delay_s` of sleep per item, as a slow disk or decoder would cost."""

    def __init__(self, torch, size, delay_s):
        self.torch, self.size, self.delay_s = torch, size, delay_s

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if self.delay_s:
            time.sleep(self.delay_s)
        g = self.torch.Generator().manual_seed(index)
        return self.torch.randn(3, 32, 32, generator=g), index % 10


def gloo_rank(rank, world, args):
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(args.port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    model = DistributedDataParallel(model_and_batches(torch, args.batch, 0))
    # The slow rank sleeps per item; spread over the batch so one batch costs --slow-ms.
    delay = args.slow_ms / 1000.0 / args.batch if rank == args.slow_rank else 0.0
    dataset = SlowDataset(torch, args.batch * (args.steps + 4), delay)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, num_workers=0)
    schedule = torch.profiler.schedule(wait=1, warmup=1, active=args.steps, repeat=1)
    path = os.path.join(args.out, f"rank{rank}.pt.trace.json")
    train(torch, model, loader, path, schedule)
    dist.barrier()
    dist.destroy_process_group()


def record_gloo(args):
    import torch.multiprocessing as mp

    os.makedirs(args.out, exist_ok=True)
    mp.spawn(gloo_rank, args=(2, args), nprocs=2, join=True)
    for rank in range(2):
        print(os.path.join(args.out, f"rank{rank}.pt.trace.json"))


def record_stack(args):
    import torch

    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    model = model_and_batches(torch, args.batch, 0)
    loader = torch.utils.data.DataLoader(SlowDataset(torch, args.batch * (args.steps + 4), 0.0), batch_size=args.batch)
    path = os.path.join(args.out, "stack_memory.pt.trace.json")
    schedule = torch.profiler.schedule(wait=1, warmup=1, active=args.steps, repeat=1)
    train(torch, model, loader, path, schedule, with_stack=True, profile_memory=True, record_shapes=True)
    print(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=["gloo", "stack"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--slow-rank", type=int, default=1)
    parser.add_argument("--slow-ms", type=float, default=120.0)
    parser.add_argument("--port", type=int, default=29531)
    args = parser.parse_args()
    {"gloo": record_gloo, "stack": record_stack}[args.kind](args)


if __name__ == "__main__":
    sys.exit(main())
