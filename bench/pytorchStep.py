#!/usr/bin/env python3
"""PyTorch reference for bench/trainStep.bench.ts: one CPU training step of the same ResNet-18 (CIFAR form:
3x3 stem, no max-pool, BasicBlocks [2, 2, 2, 2], widths 64-512, BN, 10 classes), batch 64, 32x32,
torch.set_num_threads(2), cross-entropy, SGD with momentum 0.9 and weight decay 5e-4.

Times the full step (zero_grad, forward, loss, backward, optimizer.step) after warm-up, wall and process CPU
time per step, and the peak RSS of the process. Prints one JSON line on stdout:
  {"torch": "1.13.1", "threads": 2, "batch": 64, "runs": N, "medianMs": .., "minMs": .., "cpuMedianMs": ..,
   "samplesMs": [..], "peakRssMb": .., "params": ..}

With --nm N:M the step is the standard N:M sparse-training step (SR-STE, Zhou et al. 2021), the closest
PyTorch counterpart of the product's MaxQ step: every step recomputes the magnitude N:M mask of each conv weight
whose input channels are a multiple of M (blocks of M consecutive input channels at a fixed (o, h, w), as
MaxQ's; every conv but the 3-channel stem, the 19 layers the product's default policy selects), runs the forward
with W*mask, passes the gradient straight through to the dense W and adds the decay 2e-4*(1 - mask)*W before the
optimizer. (MaxQ's soft mask costs more to compute than a magnitude top-N, so this is a lower bound of the
per-step mask work.)

Usage: python3 bench/pytorchStep.py [--runs N] [--warmup N] [--threads N] [--batch N] [--nm N:M] [--serve]
With --serve (how bench/pytorchReference.ts drives it, to interleave with the ORT step): after the warm-up it
prints {"ready": true, ...}, then answers each stdin line `run K` with one JSON line {"wallMs": [..],
"cpuMs": [..]} of K timed steps, and `quit` with {"peakRssMb": ..}.
Optional: the bench runs it only when `python3 -c 'import torch'` works (Debian: apt-get install python3-torch).
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from peak_rss import peak_rss_kb


SRSTE_LAMBDA = 2e-4


class NMConv2d(nn.Conv2d):
    """Conv2d whose forward uses W*mask with a straight-through gradient to W (mask set before each step)."""

    mask = None

    def forward(self, x):
        w = self.weight
        if self.mask is not None:
            w = w + (w * self.mask - w).detach()
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


def nm_mask(w, n, m):
    """Magnitude N:M mask of an OIHW weight over blocks of m consecutive input channels at a fixed (o, h, w)."""
    o, i, kh, kw = w.shape
    a = w.detach().abs().permute(0, 2, 3, 1).reshape(-1, m)
    keep = torch.zeros_like(a).scatter_(1, a.topk(n, dim=1).indices, 1.0)
    return keep.reshape(o, kh, kw, i).permute(0, 3, 1, 2).contiguous()


def use_nm_convs(model, m):
    """Swaps every Conv2d whose input channels are a multiple of m for an NMConv2d; returns them."""
    convs = []
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d and child.in_channels % m == 0:
                c = NMConv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride, child.padding,
                             child.dilation, child.groups, child.bias is not None)
                c.load_state_dict(child.state_dict())
                setattr(parent, name, c)
                convs.append(c)
    return convs


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
    ap.add_argument("--nm", default=None, help="N:M sparse-training step (SR-STE), e.g. 2:4")
    ap.add_argument("--serve", action="store_true")
    a = ap.parse_args()
    nm = tuple(int(v) for v in a.nm.split(":")) if a.nm else None

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ResNet18Cifar().train()
    sparse = use_nm_convs(model, nm[1]) if nm else []
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32)
    y = torch.arange(a.batch) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        if nm:
            with torch.no_grad():
                for c in sparse:
                    c.mask = nm_mask(c.weight, nm[0], nm[1])
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if nm:
            with torch.no_grad():
                for c in sparse:
                    c.weight.grad.add_(SRSTE_LAMBDA * (1 - c.mask) * c.weight)
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
        return round(peak_rss_kb() / 1024, 1)

    for _ in range(a.warmup):
        step()
    if a.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                          "sparseLayers": len(sparse),
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
