"""The same events from a plain PyTorch training loop (no Lightning): time the wait for each
batch and the step, and write one batch event per batch with ocrperf's own writer (the file's
schema header, and each event checked as the readers check it).

    python plain_loop.py --out batches.jsonl && ocrperf throughput batches.jsonl

It trains a tiny model on random data so it runs anywhere PyTorch does (CPU or CUDA).
"""

import argparse
import time

import torch
from ocrperf import BatchEventWriter
from torch.utils.data import DataLoader, TensorDataset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="batches.jsonl")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    data = TensorDataset(torch.randn(4096, 3, 64, 64), torch.randint(0, 2, (4096,)))
    loader = DataLoader(data, batch_size=32, shuffle=True, num_workers=args.workers, pin_memory=device == "cuda")
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64 * 64, 2)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    out = BatchEventWriter(args.out)
    try:
        step = 0
        last_end = time.perf_counter()
        while step < args.steps:
            for images, labels in loader:
                arrived = time.perf_counter()
                t_start = time.time()
                images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
                loss = torch.nn.functional.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if device == "cuda":
                    torch.cuda.synchronize()  # so compute includes the GPU's work
                end = time.perf_counter()
                out.write(step=step, batch_size=len(images), data_wait_s=arrived - last_end,
                          compute_s=end - arrived, t_start=t_start)
                last_end = end
                step += 1
                if step >= args.steps:
                    break
    finally:
        out.close()


if __name__ == "__main__":
    main()
