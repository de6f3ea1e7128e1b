#!/usr/bin/env python3
"""PyTorch reference for bench/trainStep.bench.ts: one CPU training step of the same ResNet-18 (CIFAR form:
3x3 stem, no max-pool, BasicBlocks [2, 2, 2, 2], widths 64-512, BN, 10 classes), batch 64, 32x32,
torch.set_num_threads(2), cross-entropy, SGD with momentum 0.9 and weight decay 5e-4.

Times the full step (zero_grad, forward, loss, backward, optimizer.step) after warm-up, wall and process CPU
time per step, and the peak RSS of the process. Prints one JSON line on stdout:
  {"torch": "1.13.1", "threads": 2, "batch": 64, "runs": N, "medianMs": .., "minMs": .., "cpuMedianMs": ..,
   "samplesMs": [..], "peakRssMb": .., "params": ..}

Usage: python3 bench/pytorchStep.py [--runs N] [--warmup N] [--threads N] [--batch N] [--serve]
With --serve (how bench/pytorchReference.ts drives it, to interleave with the ORT step): after the warm-up it
prints {"ready": true, ...}, then answers each stdin line `run K` with one JSON line {"wallMs": [..],
"cpuMs": [..]} of K timed steps, and `quit` with {"peakRssMb": ..}.
Optional: the bench runs it only when `python3 -c 'import torch'` works (Debian: apt-get install python3-torch).
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(h))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(y + sc)


class ResNet18Cifar(nn.Module):
    def __init__(self, num_classes=10, blocks=(2, 2, 2, 2), widths=(64, 128, 256, 512)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers = []
        cin = widths[0]
        for li, (nb, w) in enumerate(zip(blocks, widths)):
            for b in range(nb):
                layers.append(BasicBlock(cin, w, 2 if (b == 0 and li > 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNet18Cifar().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.arange(a.batch) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def timed(k):
        wall, cpu = [], []
        for _ in range(k):
            c0 = time.process_time()
            t0 = time.perf_counter()
            step()
            wall.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
        return wall, cpu

    def peak_mb():
        # ru_maxrss is in KiB on Linux.
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    for _ in range(a.warmup):
        step()
    if a.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "params": sum(p.numel() for p in model.parameters())}), flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == "run":
                wall, cpu = timed(int(cmd[1]) if len(cmd) > 1 else 1)
                print(json.dumps({"wallMs": wall, "cpuMs": cpu}), flush=True)
            elif cmd[0] == "quit":
                print(json.dumps({"peakRssMb": peak_mb()}), flush=True)
                return 0
        return 0
    wall, cpu = timed(a.runs)
    peak = peak_mb()
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "batch": a.batch,
        "runs": a.runs,
        "medianMs": statistics.median(wall),
        "minMs": min(wall),
        "cpuMedianMs": statistics.median(cpu),
        "samplesMs": [round(s, 2) for s in wall],
        "peakRssMb": peak,
        "params": sum(p.numel() for p in model.parameters()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
