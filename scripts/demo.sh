#!/usr/bin/env bash
# The main job on the bundled example: sparsify the bundled MNIST CNN at 2:4 with MaxQ (fine-tuned on the
# bundled MNIST digits), show its accuracy against the dense model, and prove the N:M pattern.
set -euo pipefail
cd "$(dirname "$0")/.."
out=demo-output
mkdir -p "$out"
model=media/demo/mnist-cnn.onnx
sparse="$out/mnist-cnn.maxq-2of4.onnx"
echo "== maxq inspect $model"
node bin/maxq.js inspect "$model"
echo
echo "== maxq sparsify $model --pattern 2:4 --method maxq --epochs 2 --mnist-demo"
node bin/maxq.js sparsify "$model" --pattern 2:4 --method maxq --epochs 2 --mnist-demo --run-dir "$out/run" --out "$sparse" --force
echo
echo "== maxq validate $sparse --pattern 2:4 --reference $model"
node bin/maxq.js validate "$sparse" --pattern 2:4 --reference "$model"
echo
echo "Sparse model: $sparse (run record: $sparse.run.json)"
