"""The ONNX importer beyond the CNN op set (onnx_ops.py) and the write-back export (OnnxModule.write_onnx): a
transformer as torch.onnx.export writes it (shape arithmetic, LayerNormalization, Erf, attention) imports and
computes what the PyTorch model computes at any batch size; the written model is the source graph with the trained
values, and tensors the exporter deduplicated but training set apart get initializers of their own."""
import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from maxq_torch import onnx_ops
from maxq_torch.errors import UsageError
from maxq_torch.onnx_module import load_onnx


def tiny_vit(path):
    from torchvision.models.vision_transformer import VisionTransformer
    torch.manual_seed(0)
    m = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64,
                          num_classes=4).eval()
    with torch.no_grad():
        m.heads.head.weight.normal_(0, 0.1)  # torchvision zero-initialises the head
    torch.onnx.export(m, torch.randn(1, 3, 32, 32), str(path), opset_version=17, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    return m


def test_a_vision_transformer_export_imports_and_computes_what_pytorch_computes(tmp_path):
    ref = tiny_vit(tmp_path / "vit.onnx")
    ops = {n.op_type for n in onnx.load(str(tmp_path / "vit.onnx")).graph.node}
    assert {"LayerNormalization", "Erf", "Shape", "Gather", "Expand"} & ops, ops
    mod = load_onnx(str(tmp_path / "vit.onnx")).eval()
    x = torch.randn(3, 3, 32, 32)  # a batch size the export never saw
    with torch.no_grad():
        assert torch.allclose(mod(x), ref(x), atol=1e-5, rtol=1e-4)
    # nn.Linear on 3-D input (MatMul -> Add) and LayerNormalization train their bias and scale, as the TS engine's.
    names = {n for n, _ in mod.named_parameters()}
    assert any(n.startswith("layer_norms.") for n in names)
    assert sum(1 for n, m in mod.layers.items() if getattr(m, "bias", None) is not None and m.maxq_op == "MatMul") >= 6


def test_the_written_model_is_the_source_graph_with_trained_values(tmp_path):
    tiny_vit(tmp_path / "vit.onnx")
    mod = load_onnx(str(tmp_path / "vit.onnx")).eval()
    # The exporter shares one all-zero initializer among biases that start equal; training sets them apart.
    lns = list(mod.layer_norms.values())
    srcs = [mod.onnx_sources[f"layer_norms.{k}.bias"][0] for k in mod.layer_norms]
    assert len(set(srcs)) < len(srcs), srcs
    with torch.no_grad():
        for i, ln in enumerate(lns):
            ln.bias.fill_(0.01 * (i + 1))
        for layer in mod.layers.values():
            layer.weight.mul_(0.9)
    out = tmp_path / "written.onnx"
    assert mod.write_onnx(str(out), {"maxq.pattern": "2:4"}) == len(mod.onnx_sources)
    src, got = onnx.load(str(tmp_path / "vit.onnx")), onnx.load(str(out))
    onnx.checker.check_model(got)
    assert [n.op_type for n in got.graph.node] == [n.op_type for n in src.graph.node]
    assert [i.name for i in got.graph.input] == [i.name for i in src.graph.input]
    assert any(t.name.endswith(".bias") and "__maxq_" in t.name for t in got.graph.initializer)
    assert {m.key: m.value for m in got.metadata_props}["maxq.pattern"] == "2:4"
    back = load_onnx(str(out)).eval()
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(back(x), mod(x), atol=1e-5, rtol=1e-4)


def _ln(x, scale, bias, axis, eps):
    dims = tuple(range(axis % x.ndim, x.ndim))
    mu = x.mean(axis=dims, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=dims, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * scale + bias


A = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
B = np.arange(24, dtype=np.float32).reshape(4, 6)
G = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
P = np.arange(12, dtype=np.float32).reshape(3, 4)
LN = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)

# (op, attributes, inputs, what numpy computes for the ONNX definition)
CASES = [
    ("Slice", {}, [A, np.array([4, -1]), np.array([0, -5]), np.array([2, 1]), np.array([-2, -1])], A[:, :, 4:0:-2][:, 3::-1]),
    ("Slice", {}, [B, np.array([1]), np.array([100]), np.array([-1]), np.array([2])], B[:, 1::2]),
    ("Gather", {"axis": 1}, [G, np.array([[-1, 0], [1, 1]])], np.take(G, np.array([[2, 0], [1, 1]]), axis=1)),
    ("Gather", {"axis": 0}, [np.arange(5, dtype=np.int64), np.array(-2)], np.array(3)),
    ("Pad", {"mode": "reflect"}, [P.reshape(1, 3, 4), np.array([0, 1, 2, 0, 1, 1])], np.pad(P.reshape(1, 3, 4), [(0, 0), (1, 1), (2, 1)], mode="reflect")),
    ("Pad", {"mode": "edge"}, [P, np.array([1, 0, 0, 2])], np.pad(P, [(1, 0), (0, 2)], mode="edge")),
    ("Pad", {}, [P, np.array([1, -1, 0, 2]), np.array(7.0, dtype=np.float32)], np.pad(P[:, 1:], [(1, 0), (0, 2)], constant_values=7.0)),
    ("Expand", {}, [np.arange(3, dtype=np.float32).reshape(3, 1), np.array([2, 1, 4])], np.broadcast_to(np.arange(3, dtype=np.float32).reshape(3, 1), (2, 3, 4))),
    ("Shape", {"start": 1, "end": -1}, [np.zeros((2, 3, 4, 5), dtype=np.float32)], np.array([3, 4])),
    ("Range", {}, [np.array(5, dtype=np.int64), np.array(-3, dtype=np.int64), np.array(-2, dtype=np.int64)], np.array([5, 3, 1, -1])),
    ("Mod", {}, [np.array([-7, 7, 5], dtype=np.int64), np.array([3, -3, 5], dtype=np.int64)], np.array([2, -2, 0])),
    ("Mod", {"fmod": 1}, [np.array([-7.5, 7.5], dtype=np.float32), np.array([2.0, -2.0], dtype=np.float32)], np.array([-1.5, 1.5])),
    ("ScatterND", {}, [np.zeros((3, 4), dtype=np.float32), np.array([[2], [0]]), np.ones((2, 4), dtype=np.float32)], np.array([[1] * 4, [0] * 4, [1] * 4])),
    ("LayerNormalization", {"axis": -2, "epsilon": 1e-3}, [LN, np.full((3, 4), 1.5, dtype=np.float32), np.full((3, 4), 0.25, dtype=np.float32)],
     _ln(LN, 1.5, 0.25, -2, 1e-3)),
    ("Where", {}, [np.array([True, False, True]), np.array([1, 2, 3], dtype=np.float32), np.array([9, 8, 7], dtype=np.float32)], np.array([1, 8, 3])),
    ("Cast", {"to": TensorProto.INT64}, [np.array([1.7, -2.2], dtype=np.float32)], np.array([1, -2])),
]


@pytest.mark.parametrize("op, attrs, inputs, want", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_op_follows_the_onnx_definition(op, attrs, inputs, want):
    node = helper.make_node(op, [], [], **attrs)
    got = onnx_ops.OPS[op]({a.name: helper.get_attribute_value(a) for a in node.attribute}, [torch.from_numpy(np.array(v)) for v in inputs])
    assert tuple(got.shape) == np.shape(want), (op, got.shape, np.shape(want))
    assert np.allclose(got.numpy().astype(np.float64), np.asarray(want, dtype=np.float64), atol=1e-5), (op, got, want)


def test_split_and_constant_of_shape():
    x = torch.arange(10.0).reshape(2, 5)
    parts = onnx_ops.OPS["Split"]({"axis": 1}, [x, torch.tensor([2, 3])])
    assert [tuple(p.shape) for p in parts] == [(2, 2), (2, 3)]
    assert [tuple(p.shape) for p in onnx_ops.OPS["Split"]({"axis": 1, "num_outputs": 2}, [x])] == [(2, 3), (2, 2)]
    v = onnx_ops.OPS["ConstantOfShape"]({"value": numpy_helper.from_array(np.array([3], dtype=np.int64))}, [torch.tensor([2, 2])])
    assert v.dtype == torch.int64 and v.tolist() == [[3, 3], [3, 3]]


def test_unsupported_forms_say_so():
    with pytest.raises(UsageError, match="Pad mode 'wrap' is not supported"):
        onnx_ops.OPS["Pad"]({"mode": b"wrap"}, [torch.zeros(2, 2), torch.tensor([1, 1, 1, 1])])
    with pytest.raises(UsageError, match="ScatterND with a reduction"):
        onnx_ops.OPS["ScatterND"]({"reduction": b"add"}, [torch.zeros(2), torch.tensor([[0]]), torch.ones(1)])
