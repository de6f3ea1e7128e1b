"""A small ONNX -> PyTorch importer for the usual CNN op set, so the same starting weights the TS engine uses can
be fine-tuned here. Conv / Gemm / MatMul layers with constant weights become modules whose weights are trainable
parameters named after the ONNX initializers (the layer names the TS engine reports), BatchNormalization becomes
nn.BatchNorm with its statistics, other initializers become buffers. The layer roles (first conv, final
classifier) are decided on the graph exactly as the TS engine does (src/core/layers/layerDiscovery.ts).

Supported ops: Conv (2-D), Gemm, MatMul, Add, Sub, Mul, Div, Relu, LeakyRelu, Sigmoid, Tanh, Clip, HardSigmoid,
HardSwish, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten, Reshape, Concat,
Identity, Dropout (identity), Softmax, Transpose, Squeeze, Unsqueeze, ReduceMean, Constant, and what transformers and
shape-computing CNNs add (onnx_ops.py): Shape, Gather, Slice, Split, Pad, Cast, ConstantOfShape, Expand, Where,
Equal, Not, Range, Mod, ScatterND, LayerNormalization, Erf, Gelu, Pow, Sqrt, Neg, Exp, ReduceSum. Anything else
fails naming the op and the node. LayerNormalization's scale and bias and the bias of nn.Linear on 3-D input
(MatMul -> Add) are trained, as the TypeScript engine trains them. `write_onnx` writes the source graph back with
the trained values, so shape arithmetic, names and a dynamic batch stay as the source has them.
"""
import os
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UsageError
from .onnx_ops import OPS as EXTRA_OPS, layer_normalization

SUPPORTED = {"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip",
             "HardSigmoid", "HardSwish", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
             "GlobalMaxPool", "Flatten", "Reshape", "Concat", "Identity", "Dropout", "Softmax", "Transpose",
             "Squeeze", "Unsqueeze", "ReduceMean", "Constant"} | set(EXTRA_OPS)
LAYER_OPS = {"Conv", "Gemm", "MatMul"}
LAYOUT_OPS = {"Reshape", "Transpose", "Flatten", "Identity", "Squeeze", "Unsqueeze", "Cast"}


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
        return onnx, numpy_helper
    except ImportError as e:
        raise UsageError(f"reading .onnx models needs the onnx package (pip install onnx): {e}") from e


def _attrs(node) -> Dict:
    onnx, _ = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _readers(graph) -> Dict[str, List[int]]:
    """{tensor name: indices of the nodes that read it}."""
    readers: Dict[str, List[int]] = {}
    for i, n in enumerate(graph.node):
        for t in n.input:
            readers.setdefault(t, []).append(i)
    return readers


def _np_dtype(onnx, data_type: int):
    """The numpy dtype of an ONNX TensorProto data type, without reading the tensor (onnx >= 1.13 and older)."""
    convert = getattr(onnx.helper, "tensor_dtype_to_np_dtype", None)
    return convert(data_type) if convert else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[data_type]


class GemmLayer(nn.Module):
    """Gemm with a constant B: Y = alpha * A' @ B' + beta * C. B is stored as in the file ([out, in] when
    transB = 1, else [in, out], `maxq_transposed`)."""

    def __init__(self, weight, bias, alpha, beta, trans_a, trans_b):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias) if bias is not None else None
        self.alpha, self.beta, self.trans_a, self.trans_b = alpha, beta, trans_a, trans_b

    def forward(self, x):
        a = x.t() if self.trans_a else x
        if self.trans_b and self.alpha == 1.0 and self.beta == 1.0:
            return F.linear(a, self.weight, self.bias)  # exported as Gemm transB=1, like the source
        w = self.weight
        y = a @ (w.t() if self.trans_b else w)
        if self.alpha != 1.0:
            y = y * self.alpha
        if self.bias is not None:
            y = y + (self.bias * self.beta if self.beta != 1.0 else self.bias)
        return y


class MatMulLayer(nn.Module):
    """MatMul(X, B) with a constant 2-D B stored [in, out], and the bias of the Add that follows it when
    torch.onnx.export wrote nn.Linear on 3-D input that way (trained, as the TypeScript engine trains it)."""

    def __init__(self, weight, bias=None):
        super().__init__()
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(bias) if bias is not None else None

    def forward(self, x):
        y = torch.matmul(x, self.weight)
        return y + self.bias if self.bias is not None else y


class LayerNormParams(nn.Module):
    """LayerNormalization's scale and bias as trained parameters (the TypeScript engine trains them too)."""

    def __init__(self, scale, bias):
        super().__init__()
        self.weight = nn.Parameter(scale)
        self.bias = nn.Parameter(bias) if bias is not None else None


class OnnxModule(nn.Module):
    def __init__(self, path: str):
        super().__init__()
        onnx, numpy_helper = _onnx()
        if not os.path.exists(path):
            raise UsageError(f"{path}: model file not found")
        try:
            proto = onnx.load(path)
        except Exception as e:
            raise UsageError(f"{path}: not a readable ONNX model ({e})") from e
        self.source = path
        graph = proto.graph
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
        inits = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
        # Constants, and Identity chains over constants (exporters deduplicate equal tensors that way), resolve to
        # their value; `source` names the initializer a tensor comes from (the name the TS engine reports).
        source: Dict[str, str] = {}
        const_nodes = set()
        for idx, node in enumerate(graph.node):
            if node.op_type == "Constant":
                a = _attrs(node)
                if "value" in a:
                    inits[node.output[0]] = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
                    const_nodes.add(idx)
            elif node.op_type == "Identity" and node.input[0] in inits:
                inits[node.output[0]] = inits[node.input[0]]
                source[node.output[0]] = source.get(node.input[0], node.input[0])
                const_nodes.add(idx)
        self.input_names = [i.name for i in graph.input if i.name not in inits]
        if len(self.input_names) != 1:
            raise UsageError(f"{path}: expected one graph input, found {len(self.input_names)} ({self.input_names})")
        self.output_names = [o.name for o in graph.output]
        if len(self.output_names) != 1:
            raise UsageError(f"{path}: expected one graph output (the logits), found {len(self.output_names)}")
        dims = graph.input[[i.name for i in graph.input].index(self.input_names[0])].type.tensor_type.shape.dim
        self.input_shape = [d.dim_value if d.dim_value > 0 else None for d in dims]

        for node in graph.node:
            if node.op_type not in SUPPORTED or node.domain not in ("", "ai.onnx"):
                label = node.name or f"{node.op_type} -> {', '.join(node.output)}"
                raise UsageError(f"{path}: unsupported op {node.op_type} (node '{label}'); maxq_torch reads "
                                 f"{', '.join(sorted(SUPPORTED))}")
        self.layers = nn.ModuleDict()
        self.norms = nn.ModuleDict()
        # Run normalisations (run_norm.py): a BatchNorm after a BN-free sparsified layer, keyed like `layers`.
        self.run_norms = nn.ModuleDict()
        self.layer_norms = nn.ModuleDict()
        self._const_names: Dict[str, str] = {}
        used_by_modules = set()
        self._steps: List = []
        readers = _readers(graph)
        stems, final = self._roles(graph, inits, readers)
        bn_inputs = {n.input[0] for n in graph.node if n.op_type == "BatchNormalization"}
        linear_bias = self._linear_biases(graph, inits, readers)
        folded_adds = {add_idx for add_idx, _, _ in linear_bias.values()}
        for idx, node in enumerate(graph.node):
            op, a = node.op_type, _attrs(node)
            if idx in folded_adds:
                continue  # computed by its MatMul layer (the nn.Linear bias)
            label = node.name or f"{op}_{idx}"
            key = f"n{idx}"
            if op == "Conv" and node.input[1] in inits:
                w = inits[node.input[1]].float()
                if w.dim() != 4:
                    raise UsageError(f"{path}: node '{label}': only 2-D convs are supported (weight {list(w.shape)})")
                group = int(a.get("group", 1))
                pads = list(a.get("pads", [0, 0, 0, 0]))
                if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
                    raise UsageError(f"{path}: node '{label}': Conv auto_pad {a['auto_pad']} is not supported")
                symmetric = pads[0] == pads[2] and pads[1] == pads[3]
                conv = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", [1, 1])),
                                 padding=(pads[0], pads[1]) if symmetric else 0, dilation=tuple(a.get("dilations", [1, 1])),
                                 groups=group, bias=len(node.input) > 2 and node.input[2] != "")
                with torch.no_grad():
                    conv.weight.copy_(w)
                    if conv.bias is not None:
                        conv.bias.copy_(inits[node.input[2]].float())
                self._tag(conv, source.get(node.input[1], node.input[1]), label, "Conv", False, "first-conv" if idx in stems else None)
                conv.maxq_bn_after = node.output[0] in bn_inputs
                self.layers[key] = conv
                used_by_modules.update(node.input[1:3])
                self._steps.append(("conv", key, node, None if symmetric else [pads[1], pads[3], pads[0], pads[2]]))
            elif op == "Gemm" and node.input[1] in inits and inits[node.input[1]].dim() == 2:
                tb = int(a.get("transB", 0))
                w = inits[node.input[1]].float()
                bias = inits[node.input[2]].float() if len(node.input) > 2 and node.input[2] in inits else None
                if len(node.input) > 2 and node.input[2] and node.input[2] not in inits:
                    raise UsageError(f"{path}: node '{label}': Gemm with a computed C is not supported")
                layer = GemmLayer(w, bias, float(a.get("alpha", 1.0)), float(a.get("beta", 1.0)),
                                  int(a.get("transA", 0)), tb)
                role = "final-classifier" if idx in final else ("stem-linear" if idx in stems else "linear")
                self._tag(layer, source.get(node.input[1], node.input[1]), label, "Gemm", tb == 0, role)
                layer.maxq_bn_after = node.output[0] in bn_inputs
                self.layers[key] = layer
                used_by_modules.update(node.input[1:3])
                self._steps.append(("layer", key, node, None))
            elif op == "MatMul" and node.input[1] in inits and inits[node.input[1]].dim() == 2:
                _, bias_name, out_name = linear_bias.get(idx, (None, None, node.output[0]))
                layer = MatMulLayer(inits[node.input[1]].float(), inits[bias_name].float() if bias_name else None)
                role = "final-classifier" if idx in final else ("stem-linear" if idx in stems else "linear")
                self._tag(layer, source.get(node.input[1], node.input[1]), label, "MatMul", True, role)
                layer.maxq_bn_after = out_name in bn_inputs
                if bias_name:
                    add_idx = linear_bias[idx][0]
                    layer.maxq_bias_slot = (add_idx, list(graph.node[add_idx].input).index(bias_name))
                self.layers[key] = layer
                used_by_modules.update([node.input[1]] + ([bias_name] if bias_name else []))
                self._steps.append(("layer", key, node, out_name))
            elif op == "LayerNormalization" and node.input[1] in inits and (len(node.input) < 3 or not node.input[2] or node.input[2] in inits):
                bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
                self.layer_norms[key] = LayerNormParams(inits[node.input[1]].float(), inits[bias].float() if bias else None)
                used_by_modules.update([node.input[1]] + ([bias] if bias else []))
                self._steps.append(("ln", key, node, a))
            elif op == "BatchNormalization":
                if any(n not in inits for n in node.input[1:5]):
                    raise UsageError(f"{path}: node '{label}': BatchNormalization needs constant scale, bias, mean, var")
                scale = inits[node.input[1]].float()
                bn = nn.BatchNorm2d(scale.numel(), eps=float(a.get("epsilon", 1e-5)),
                                    momentum=1.0 - float(a.get("momentum", 0.9)))
                with torch.no_grad():
                    bn.weight.copy_(scale)
                    bn.bias.copy_(inits[node.input[2]].float())
                    bn.running_mean.copy_(inits[node.input[3]].float())
                    bn.running_var.copy_(inits[node.input[4]].float())
                self.norms[key] = bn
                used_by_modules.update(node.input[1:5])
                self._steps.append(("bn", key, node, None))
            elif op == "Constant" or idx in const_nodes:
                continue
            else:
                self._steps.append(("op", op, node, a))
        # Remaining initializers that nodes read (shapes, constants of Add/Mul ...) become buffers.
        for idx, node in enumerate(graph.node):
            if idx in const_nodes:
                continue
            for name in node.input:
                if name in inits and name not in used_by_modules and name not in self._const_names:
                    buf = f"c{len(self._const_names)}"
                    self.register_buffer(buf, inits[name])
                    self._const_names[name] = buf
        self._model_path = path
        self._const_sources = {source.get(n, n) for n in self._const_names}
        # state_dict key -> (the ONNX initializer it came from, the node and input slot that read it), for
        # `write_onnx` to write the trained values back into the source graph.
        self.onnx_sources: Dict[str, Tuple[str, int, int]] = {}

        def record(k, idx, slot, src):
            self.onnx_sources[k] = (source.get(src, src), idx, slot)

        for idx, node in enumerate(graph.node):
            key = f"n{idx}"
            if key in self.layers:
                for slot, attr in ((1, "weight"), (2, "bias")):
                    src = node.input[slot] if len(node.input) > slot else ""
                    if src and getattr(self.layers[key], attr, None) is not None:
                        record(f"layers.{key}.{attr}", idx, slot, src)
                bias_slot = getattr(self.layers[key], "maxq_bias_slot", None)
                if bias_slot is not None:
                    add_idx, slot = bias_slot
                    record(f"layers.{key}.bias", add_idx, slot, graph.node[add_idx].input[slot])
            elif key in self.layer_norms:
                for slot, attr in ((1, "weight"), (2, "bias")):
                    if len(node.input) > slot and node.input[slot]:
                        record(f"layer_norms.{key}.{attr}", idx, slot, node.input[slot])
            elif key in self.norms:
                for slot, attr in enumerate(["weight", "bias", "running_mean", "running_var"], start=1):
                    record(f"norms.{key}.{attr}", idx, slot, node.input[slot])

    @staticmethod
    def _linear_biases(graph, inits, readers):
        """{MatMul node index: (Add node index, bias initializer, Add output)} for MatMul(X, W) -> Add(., b) with a
        constant 2-D W and a 1-D b of W's output size, the MatMul's only reader being that Add: nn.Linear on 3-D
        input as torch.onnx.export writes it (the TypeScript engine's `bias` parameter kind)."""
        out = {}
        for i, n in enumerate(graph.node):
            if n.op_type != "MatMul" or n.input[1] not in inits or inits[n.input[1]].dim() != 2:
                continue
            r = readers.get(n.output[0], [])
            if len(r) != 1 or graph.node[r[0]].op_type != "Add":
                continue
            add = graph.node[r[0]]
            other = add.input[1] if add.input[0] == n.output[0] else add.input[0]
            b = inits.get(other)
            if b is not None and b.dim() == 1 and b.is_floating_point() and b.numel() == inits[n.input[1]].shape[1]:
                out[i] = (r[0], other, add.output[0])
        return out

    def write_onnx(self, path: str, metadata: Dict[str, str] = None) -> int:
        """Writes the source model with this module's values in its initializers: the source's graph as it is
        (shape arithmetic, names, opset, a dynamic batch), only the trained tensors replaced. A tensor the source
        shares (an initializer behind Identity read by several layers, or also read as a constant) and that training
        gave different values gets an initializer of its own for its reader. Returns how many tensors were written."""
        onnx, numpy_helper = _onnx()
        import numpy as np
        proto = onnx.load(self.source)
        graph = proto.graph
        inits = {t.name: t for t in graph.initializer}
        taken = set(inits) | {o for n in graph.node for o in n.output} | {i.name for i in graph.input}
        state = self.state_dict()
        written: Dict[str, "np.ndarray"] = {}
        count = 0
        for key, (src, node_idx, slot) in self.onnx_sources.items():
            target = inits.get(src)
            dtype = _np_dtype(onnx, target.data_type) if target is not None else np.float32
            value = state[key].detach().cpu().numpy().astype(dtype)
            shared = src in self._const_sources or (src in written and not np.array_equal(written[src], value))
            if target is not None and not shared:
                target.CopyFrom(numpy_helper.from_array(value.reshape(tuple(target.dims)), src))
                written[src] = value
            else:
                name, i = f"{src}__maxq_{key}", 1
                while name in taken:
                    name, i = f"{src}__maxq_{key}_{i}", i + 1
                taken.add(name)
                dims = tuple(target.dims) if target is not None else value.shape
                graph.initializer.append(numpy_helper.from_array(value.reshape(dims), name))
                graph.node[node_idx].input[slot] = name
            count += 1
        for k, v in (metadata or {}).items():
            entry = next((m for m in proto.metadata_props if m.key == k), None) or proto.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(proto, path)
        return count

    @staticmethod
    def _tag(mod, name, node, op, transposed, role):
        mod.maxq_name, mod.maxq_node, mod.maxq_op, mod.maxq_transposed, mod.maxq_role = name, node, op, transposed, role

    @staticmethod
    def _roles(graph, inits, consumers):
        """Stem layers and layers that feed the graph output, as the TS engine's layerDiscovery decides them."""
        inputs = [i.name for i in graph.input if i.name not in inits]
        stems = set()

        def walk(through, is_stem):
            frontier, seen = list(inputs), set(inputs)
            while frontier:
                t = frontier.pop()
                for i in consumers.get(t, []):
                    n = graph.node[i]
                    if n.op_type in LAYER_OPS:
                        if is_stem(n, t):
                            stems.add(i)
                        continue
                    if not through(n):
                        continue
                    for o in n.output:
                        if o not in seen:
                            seen.add(o)
                            frontier.append(o)

        walk(lambda n: True, lambda n, t: n.op_type == "Conv" and n.input[0] == t)
        walk(lambda n: n.op_type in LAYOUT_OPS, lambda n, t: n.op_type != "Conv" and n.input[0] == t)
        outputs = {o.name for o in graph.output}
        final = set()
        for i, n in enumerate(graph.node):
            if n.op_type not in ("Gemm", "MatMul"):
                continue
            frontier, seen = list(n.output), set(n.output)
            while frontier:
                t = frontier.pop()
                if t in outputs:
                    final.add(i)
                    break
                for j in consumers.get(t, []):
                    if graph.node[j].op_type in LAYER_OPS:
                        continue
                    for o in graph.node[j].output:
                        if o not in seen:
                            seen.add(o)
                            frontier.append(o)
        return stems, final

    def _value(self, env, name):
        if name in env:
            return env[name]
        if name in self._const_names:
            return getattr(self, self._const_names[name])
        raise UsageError(f"{self._model_path}: tensor '{name}' is neither computed nor an initializer")

    def forward(self, x):
        env = {self.input_names[0]: x}
        for kind, key, node, extra in self._steps:
            if kind == "conv":
                inp = env[node.input[0]] if node.input[0] in env else self._value(env, node.input[0])
                if extra is not None:
                    inp = F.pad(inp, extra)
                y = self.layers[key](inp)
                env[node.output[0]] = self.run_norms[key](y) if key in self.run_norms else y
            elif kind == "layer":
                y = self.layers[key](self._value(env, node.input[0]))
                env[extra or node.output[0]] = self.run_norms[key](y) if key in self.run_norms else y
            elif kind == "ln":
                ln = self.layer_norms[key]
                env[node.output[0]] = layer_normalization(extra, [self._value(env, node.input[0])], ln.weight, ln.bias)
            elif kind == "bn":
                env[node.output[0]] = self.norms[key](self._value(env, node.input[0]))
            else:
                outs = self._op(key, node, extra, [self._value(env, n) if n else None for n in node.input])
                if isinstance(outs, list):
                    env.update(zip(node.output, outs))
                else:
                    env[node.output[0]] = outs
        return env[self.output_names[0]]

    def _op(self, op, node, a, xs):
        x = xs[0] if xs else None
        if op == "Add":
            return xs[0] + xs[1]
        if op == "Sub":
            return xs[0] - xs[1]
        if op == "Mul":
            return xs[0] * xs[1]
        if op == "Div":
            if not xs[0].is_floating_point() and not xs[1].is_floating_point():
                return torch.div(xs[0], xs[1], rounding_mode="trunc")  # ONNX integer division truncates
            return xs[0] / xs[1]
        if op == "MatMul":
            return torch.matmul(xs[0], xs[1])
        if op == "Gemm":
            a_, b_ = xs[0], xs[1]
            if a.get("transA", 0):
                a_ = a_.t()
            if a.get("transB", 0):
                b_ = b_.t()
            y = float(a.get("alpha", 1.0)) * (a_ @ b_)
            return y + float(a.get("beta", 1.0)) * xs[2] if len(xs) > 2 and xs[2] is not None else y
        if op == "Conv":
            raise UsageError(f"{self._model_path}: node '{node.name}': Conv with a computed weight is not supported")
        if op == "Relu":
            return F.relu(x)
        if op == "LeakyRelu":
            return F.leaky_relu(x, float(a.get("alpha", 0.01)))
        if op == "Sigmoid":
            return torch.sigmoid(x)
        if op == "Tanh":
            return torch.tanh(x)
        if op == "HardSigmoid":
            return torch.clamp(float(a.get("alpha", 0.2)) * x + float(a.get("beta", 0.5)), 0, 1)
        if op == "HardSwish":
            return F.hardswish(x)
        if op == "Clip":
            lo = xs[1] if len(xs) > 1 and xs[1] is not None else a.get("min")
            hi = xs[2] if len(xs) > 2 and xs[2] is not None else a.get("max")
            lo = float(lo) if lo is not None else None
            hi = float(hi) if hi is not None else None
            return torch.clamp(x, lo, hi)
        if op in ("MaxPool", "AveragePool"):
            k = list(a["kernel_shape"])
            s = list(a.get("strides", [1] * len(k)))
            pads = list(a.get("pads", [0] * (2 * len(k))))
            ceil = bool(a.get("ceil_mode", 0))
            if pads[0] != pads[2] or pads[1] != pads[3]:
                x = F.pad(x, [pads[1], pads[3], pads[0], pads[2]], value=float("-inf") if op == "MaxPool" else 0.0)
                pads = [0, 0, 0, 0]
            if op == "MaxPool":
                return F.max_pool2d(x, k, s, (pads[0], pads[1]), tuple(a.get("dilations", [1, 1])), ceil_mode=ceil)
            return F.avg_pool2d(x, k, s, (pads[0], pads[1]), ceil_mode=ceil,
                                count_include_pad=bool(a.get("count_include_pad", 0)))
        if op == "GlobalAveragePool":
            if x.dim() == 4:
                return F.adaptive_avg_pool2d(x, 1)
            return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
        if op == "GlobalMaxPool":
            return x.amax(dim=tuple(range(2, x.dim())), keepdim=True)
        if op == "Flatten":
            axis = int(a.get("axis", 1))
            axis = axis + x.dim() if axis < 0 else axis
            if axis == 0:
                return x.reshape(1, -1)
            return torch.flatten(x, axis) if axis == 1 else x.reshape(*x.shape[:axis], -1).flatten(axis)
        if op == "Reshape":
            shape = [int(v) for v in xs[1].tolist()]
            shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
            return x.reshape(shape)
        if op == "Concat":
            return torch.cat(xs, dim=int(a["axis"]))
        if op in ("Identity", "Dropout"):
            return x
        if op == "Softmax":
            axis = int(a.get("axis", -1 if self.opset >= 13 else 1))
            if self.opset >= 13 or axis in (-1, x.dim() - 1):
                return torch.softmax(x, dim=axis)
            flat = x.reshape(*x.shape[:axis], -1)
            return torch.softmax(flat, dim=-1).reshape(x.shape)
        if op == "Transpose":
            perm = a.get("perm", list(reversed(range(x.dim()))))
            return x.permute(*perm)
        if op in ("Squeeze", "Unsqueeze"):
            axes = a.get("axes")
            if axes is None and len(xs) > 1 and xs[1] is not None:
                axes = [int(v) for v in xs[1].tolist()]
            if op == "Squeeze":
                if axes is None:
                    return x.squeeze()
                for ax in sorted((v % x.dim() for v in axes), reverse=True):
                    x = x.squeeze(ax)
                return x
            out_rank = x.dim() + len(axes)
            for ax in sorted(v % out_rank for v in axes):
                x = x.unsqueeze(ax)
            return x
        if op == "ReduceMean":
            axes = a.get("axes")
            if axes is None and len(xs) > 1 and xs[1] is not None:
                axes = [int(v) for v in xs[1].tolist()]
            keep = bool(a.get("keepdims", 1))
            return x.mean(dim=tuple(axes), keepdim=keep) if axes else x.mean()
        if op in EXTRA_OPS:
            try:
                return EXTRA_OPS[op](a, xs)
            except UsageError as e:
                raise UsageError(f"{self._model_path}: node '{node.name}': {e}") from e
        raise UsageError(f"{self._model_path}: unsupported op {op} (node '{node.name}')")


def load_onnx(path: str) -> OnnxModule:
    return OnnxModule(path)
