#!/usr/bin/env python3
"""Export torchvision classification models to ONNX the way users do: eval mode, random init (no download),
torch.onnx.export with constant folding, so every Conv→BatchNormalization pair is folded into the conv.

    python3 scripts/zoo/export_torchvision.py OUT_DIR resnet18 resnet50 ... [--size 64] [--opset 17] [--keep-bn]

Needs Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision).
"""
import argparse
import os
import sys

try:
    import torch
    import torchvision
except ImportError:
    sys.exit("needs PyTorch and torchvision: apt-get install python3-torch python3-torchvision")


# Families that need a larger input than the default.
MIN_SIZE = {"inception_v3": 96}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--size", type=int, default=64, help="input height and width")
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--keep-bn", action="store_true", help="export with BatchNormalization nodes kept (training=PRESERVE, no folding)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    for name in a.models:
        ctor = getattr(torchvision.models, name)
        kwargs = {"num_classes": a.classes}
        if name.startswith("inception") or name.startswith("googlenet"):
            kwargs["aux_logits"] = False
            kwargs["init_weights"] = True
        size = max(a.size, MIN_SIZE.get(name, 0))
        if name.startswith("vit_"):
            kwargs["image_size"] = size
        model = ctor(**kwargs).eval()
        x = torch.randn(1, 3, size, size)
        path = os.path.join(a.out, f"{name}{'-bn' if a.keep_bn else ''}.onnx")
        extra = {}
        if a.keep_bn:
            extra = {"training": torch.onnx.TrainingMode.PRESERVE, "do_constant_folding": False}
        torch.onnx.export(model, x, path, opset_version=a.opset, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, **extra)
        print(path)


if __name__ == "__main__":
    main()
