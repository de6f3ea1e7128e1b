"""Training and validation data: `.npy` arrays (the TS engine's --inputs/--labels) or an image folder
(torchvision ImageFolder, train/ and val/). Samples are preprocessed with a `SCALE,MEAN,STD` normalisation.

- npy inputs: float32/float64/uint8, [N, C, H, W], [N, H, W, C] when unambiguous, or [N, H, W]; labels integer
  class ids [N] or [N, 1]. uint8 inputs are never scaled silently: they need a normalisation.
- Without validation data, a seeded share (`val_fraction`, default 0.1) is held out with the TS engine's split.
"""
import os
from dataclasses import dataclass
from typing import Optional

import torch

from .errors import UsageError
from .normalize import Normalization, parse_normalization
from .seeding import train_val_split


class TensorData:
    """Inputs [N, C, H, W] (stored dtype) and int64 labels, with the affine preprocessing applied per batch."""

    def __init__(self, inputs: torch.Tensor, labels: Optional[torch.Tensor], norm: Normalization, source: str):
        self.inputs, self.labels, self.source = inputs, labels, source
        c = inputs.shape[1]
        mul, add = norm.per_channel(c)
        self.mul = torch.tensor(mul, dtype=torch.float64).reshape(1, c, 1, 1)
        self.add = torch.tensor(add, dtype=torch.float64).reshape(1, c, 1, 1)
        self.normalization = norm

    def __len__(self):
        return self.inputs.shape[0]

    @property
    def input_shape(self):
        return tuple(self.inputs.shape[1:])

    def batch(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        x = (self.inputs[idx].to(torch.float64) * self.mul + self.add).float()
        y = self.labels[idx] if self.labels is not None else None
        return x, y

    def subset(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)
        labels = self.labels[idx] if self.labels is not None else None
        out = TensorData.__new__(TensorData)
        out.inputs, out.labels, out.source = self.inputs[idx], labels, self.source
        out.mul, out.add, out.normalization = self.mul, self.add, self.normalization
        return out


def _load_npy(path: str):
    try:
        import numpy as np
    except ImportError as e:  # numpy comes with torch wheels; say so if it is missing
        raise UsageError(f"reading {path} needs numpy ({e})") from e
    if not os.path.exists(path):
        raise UsageError(f"{path}: file not found")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:
        raise UsageError(f"{path}: not a readable .npy file ({e})") from e


def _inputs(path: str, model_chw=None) -> torch.Tensor:
    import numpy as np
    a = _load_npy(path)
    if a.dtype not in (np.float32, np.float64, np.uint8):
        raise UsageError(f"{path}: inputs must be float32, float64 or uint8, not {a.dtype}")
    if a.ndim == 3:
        a = a[:, None, :, :]
    elif a.ndim == 4:
        d1, d2, d3 = a.shape[1:]
        nhwc = False
        if model_chw is not None and len(model_chw) == 3:
            c, h, w = model_chw
            nhwc = (d1, d2, d3) != (c, h, w) and (d1, d2, d3) == (h, w, c)
        else:
            nhwc = d3 in (1, 3) and d1 not in (1, 3)
        if nhwc:
            a = a.transpose(0, 3, 1, 2)
    else:
        raise UsageError(f"{path}: inputs must be [N, C, H, W], [N, H, W, C] or [N, H, W], got shape {list(a.shape)}")
    if a.dtype != np.uint8 and not np.isfinite(a).all():
        raise UsageError(f"{path}: inputs contain NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(a))


def _labels(path: str, count: int) -> torch.Tensor:
    import numpy as np
    a = _load_npy(path)
    if a.dtype not in (np.int64, np.int32, np.uint8, np.int8):
        raise UsageError(f"{path}: labels must be integer class ids (int64, int32, uint8 or int8), not {a.dtype}")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise UsageError(f"{path}: labels must have shape [N] or [N, 1], got {list(a.shape)}")
    if a.shape[0] != count:
        raise UsageError(f"{path}: {a.shape[0]} labels for {count} inputs")
    if a.size and a.min() < 0:
        raise UsageError(f"{path}: labels must be class ids >= 0, found {int(a.min())}")
    return torch.from_numpy(a.astype(np.int64))


def _norm_for(dtype: torch.dtype, spec: Optional[str], path: str) -> Normalization:
    if spec is not None:
        return parse_normalization(spec)
    if dtype == torch.uint8:
        raise UsageError(f"{path}: inputs are uint8 bytes; choose their preprocessing with --normalize (recipe "
                         "data.normalize), e.g. unit (1/255,0,1), mnist (1/255,0.1307,0.3081) or imagenet")
    return parse_normalization("none")


def _npy_set(inputs: str, labels: Optional[str], spec: Optional[str], model_chw) -> TensorData:
    x = _inputs(inputs, model_chw)
    if labels is None:
        raise UsageError(f"{inputs}: fine-tuning with maxq_torch needs labels (--labels / data.labels)")
    y = _labels(labels, x.shape[0])
    return TensorData(x, y, _norm_for(x.dtype, spec, inputs), inputs)


@dataclass
class RunData:
    train: TensorData
    val: Optional[TensorData]
    val_source: str


def open_npy(inputs, labels=None, val_inputs=None, val_labels=None, normalize=None, val_fraction=0.1, seed=0,
             model_chw=None) -> RunData:
    train = _npy_set(inputs, labels, normalize, model_chw)
    if val_inputs is not None:
        val = _npy_set(val_inputs, val_labels, normalize, model_chw)
        if val.input_shape != train.input_shape:
            raise UsageError(f"{val_inputs}: samples are {list(val.input_shape)}, training samples "
                             f"{list(train.input_shape)}")
        return RunData(train, val, val_inputs)
    if val_labels is not None:
        raise UsageError(f"{val_labels}: validation labels need validation inputs (--val-inputs)")
    if val_fraction == 0:
        return RunData(train, None, f"{inputs} (training data, no hold-out)")
    tr, va = train_val_split(len(train), val_fraction, seed)
    return RunData(train.subset(tr), train.subset(va), f"{len(va)} samples held out of {inputs} (seed {seed})")


class ImageFolderData:
    """torchvision ImageFolder samples resized (shorter side) and centre-cropped to `size`, as uint8 CHW, then
    normalised like npy data (bytes: the normalisation must say how)."""

    def __init__(self, root: str, size: int, norm: Normalization):
        try:
            from torchvision import datasets, transforms
        except ImportError as e:
            raise UsageError(f"image folders need torchvision (pip install torchvision): {e}") from e
        if not os.path.isdir(root):
            raise UsageError(f"{root}: image folder not found")
        tf = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.PILToTensor()])
        try:
            self.ds = datasets.ImageFolder(root, transform=tf)
        except (FileNotFoundError, RuntimeError) as e:
            raise UsageError(f"{root}: {e}") from e
        self.source = root
        self.classes = self.ds.classes
        c = 3
        mul, add = norm.per_channel(c)
        self.mul = torch.tensor(mul, dtype=torch.float64).reshape(1, c, 1, 1)
        self.add = torch.tensor(add, dtype=torch.float64).reshape(1, c, 1, 1)
        self.normalization = norm

    def __len__(self):
        return len(self.ds)

    def batch(self, indices):
        items = [self.ds[i] for i in indices]
        x = torch.stack([img.expand(3, -1, -1) if img.shape[0] == 1 else img[:3] for img, _ in items])
        y = torch.tensor([label for _, label in items], dtype=torch.long)
        return (x.to(torch.float64) * self.mul + self.add).float(), y


class _Subset:
    def __init__(self, base, indices):
        self.base, self.indices, self.source = base, list(indices), base.source

    def __len__(self):
        return len(self.indices)

    def batch(self, indices):
        return self.base.batch([self.indices[i] for i in indices])


def open_images(root, val_dir=None, normalize=None, size=224, val_fraction=0.1, seed=0) -> RunData:
    norm = _norm_for(torch.uint8, normalize, root)
    if os.path.isdir(os.path.join(root, "train")) and val_dir is None and os.path.isdir(os.path.join(root, "val")):
        root, val_dir = os.path.join(root, "train"), os.path.join(root, "val")
    train = ImageFolderData(root, size, norm)
    if val_dir is not None:
        val = ImageFolderData(val_dir, size, norm)
        if val.classes != train.classes:
            raise UsageError(f"{val_dir}: classes {val.classes[:5]}... differ from {root}'s {train.classes[:5]}...")
        return RunData(train, val, val_dir)
    if val_fraction == 0:
        return RunData(train, None, f"{root} (training data, no hold-out)")
    tr, va = train_val_split(len(train), val_fraction, seed)
    return RunData(_Subset(train, tr), _Subset(train, va), f"{len(va)} images held out of {root} (seed {seed})")
