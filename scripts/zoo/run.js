#!/usr/bin/env node
// The architecture table: exports torchvision's classification families the way users do (eval mode, random
// init, BatchNorm folded by torch.onnx.export, opset 17, small inputs) and runs, on each, what a user would:
// `maxq inspect`; one-shot 2:4 `sparsify` with unlabelled data + `validate` against the dense model; a 1-epoch
// label-free fine-tune (distillation, batch 4) + `validate`. Writes docs/zoo.md and docs/zoo.json.
//
// Usage: npm run zoo [-- --families resnet18,vit_b_16] [--size 64] [--dir DIR] [--skip-finetune] [--timeout-min 20]
// Needs Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision).
// Builds first unless MAXQ_SKIP_BUILD=1.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');

const root = path.resolve(__dirname, '..', '..');
const FAMILIES = [
  'resnet18', 'resnet50', 'resnext50_32x4d', 'wide_resnet50_2', 'mobilenet_v2', 'mobilenet_v3_small', 'efficientnet_b0',
  'regnet_x_400mf', 'shufflenet_v2_x1_0', 'squeezenet1_1', 'densenet121', 'googlenet', 'inception_v3', 'mnasnet0_5',
  'convnext_tiny', 'vit_b_16', 'swin_t',
];

function options() {
  const { values } = parseArgs({
    options: {
      families: { type: 'string' }, size: { type: 'string', default: '64' }, dir: { type: 'string' },
      'skip-finetune': { type: 'boolean', default: false }, 'timeout-min': { type: 'string', default: '20' },
      'out-dir': { type: 'string', default: 'docs' },
    },
    strict: true,
  });
  return {
    families: values.families ? values.families.split(',').map((s) => s.trim()).filter(Boolean) : FAMILIES,
    size: Number(values.size),
    dir: path.resolve(values.dir ?? path.join(os.tmpdir(), 'maxq-zoo')),
    skipFinetune: values['skip-finetune'],
    timeoutMs: Number(values['timeout-min']) * 60_000,
    outDir: path.resolve(root, values['out-dir']),
  };
}

/** A python3 that has torch and torchvision: the one on PATH, or Debian's. */
function findPython() {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch, torchvision, numpy; print(torch.__version__, torchvision.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { py, versions: r.stdout.trim() };
  }
  return null;
}

function maxq(args, timeoutMs) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'maxq.js'), ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  const seconds = (Date.now() - t0) / 1000;
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = null;
  }
  const firstError = (r.stderr || '').split('\n').find((l) => /^maxq /.test(l)) ?? (r.error ? String(r.error.message) : '');
  return { code: r.status, json, stderr: r.stderr, error: firstError, seconds, timedOut: r.error?.code === 'ETIMEDOUT' };
}

function cell(ok, text) {
  return `${ok ? '✓' : '✗'} ${text}`.replace(/\|/g, '\\|');
}

function short(s, n = 140) {
  const t = String(s ?? '').replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

function main() {
  const o = options();
  const python = findPython();
  if (!python) {
    console.error('npm run zoo needs PyTorch and torchvision for python3 to export the models:');
    console.error('  sudo apt-get install python3-torch python3-torchvision python3-numpy   (Debian 12)');
    process.exit(2);
  }
  if (process.env.MAXQ_SKIP_BUILD !== '1') execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', root], { stdio: 'inherit', cwd: root });
  fs.mkdirSync(o.dir, { recursive: true });
  console.log(`zoo: ${o.families.length} families at ${o.size}×${o.size} in ${o.dir} (python ${python.py}: torch/torchvision ${python.versions})`);

  const rows = [];
  for (const family of o.families) {
    const row = { family, inspect: null, oneShot: null, fineTune: null };
    rows.push(row);
    const model = path.join(o.dir, `${family}.onnx`);
    if (!fs.existsSync(model)) {
      const ex = spawnSync(python.py, [path.join(__dirname, 'export_torchvision.py'), o.dir, family, '--size', String(o.size)], { encoding: 'utf8' });
      if (ex.status !== 0) {
        row.export = short(ex.stderr.split('\n').filter(Boolean).pop());
        console.log(`${family}: export failed: ${row.export}`);
        continue;
      }
    }
    const inspect = maxq(['inspect', model, '--json'], o.timeoutMs);
    const layers = inspect.json?.layers ?? [];
    const selected = layers.filter((l) => l.selected).length;
    const input = inspect.json?.inputs?.[0]?.shape ?? [];
    row.inspect = { ok: inspect.code === 0, layers: layers.length, selected, bnFree: inspect.json?.batchNorm?.bnFree ?? null, error: inspect.error, seconds: inspect.seconds };
    const [, c, h, w] = input;
    const data = path.join(o.dir, `x-${c}x${h}x${w}.npy`);
    if (!fs.existsSync(data)) {
      spawnSync(python.py, ['-c', `import numpy as np; np.random.seed(0); np.save(${JSON.stringify(data)}, np.random.randn(32, ${c}, ${h}, ${w}).astype(np.float32))`]);
    }
    const oneShotOut = path.join(o.dir, `${family}.2of4.onnx`);
    const s = maxq(['sparsify', model, '--pattern', '2:4', '--inputs', data, '--out', oneShotOut, '--force', '--json'], o.timeoutMs);
    const v = s.code === 0 ? maxq(['validate', oneShotOut, '--pattern', '2:4', '--reference', model, '--inputs', data, '--json'], o.timeoutMs) : null;
    row.oneShot = {
      ok: s.code === 0 && v?.code === 0, sparsified: s.json?.sparsifiedLayers ?? null, normalised: s.json?.normalisation?.normalised?.length ?? 0,
      validate: v?.json ? (v.json.pass ? 'PASS' : 'FAIL') : null, verdict: v?.json?.numeric?.verdict?.kind ?? null, error: s.code !== 0 ? s.error : v?.code !== 0 ? (v?.error || 'validate failed') : '',
      seconds: s.seconds,
    };
    if (!o.skipFinetune) {
      const ftOut = path.join(o.dir, `${family}.ft.onnx`);
      const f = maxq(['sparsify', model, '--pattern', '2:4', '--epochs', '1', '--batch', '4', '--inputs', data, '--out', ftOut, '--force', '--json'], o.timeoutMs);
      const fv = f.code === 0 ? maxq(['validate', ftOut, '--pattern', '2:4', '--json'], o.timeoutMs) : null;
      row.fineTune = {
        ok: f.code === 0 && fv?.code === 0, agreement: f.json?.finalAccuracy ?? null, validate: fv?.json ? (fv.json.pass ? 'PASS' : 'FAIL') : null,
        error: f.timedOut ? `timed out after ${o.timeoutMs / 60000} min` : f.code !== 0 ? f.error : fv?.code !== 0 ? (fv?.error || 'validate failed') : '', seconds: f.seconds,
      };
    }
    console.log(`${family}: inspect ${row.inspect.ok ? 'ok' : 'FAIL'} (${selected}/${layers.length} selected); one-shot ${row.oneShot.ok ? `PASS (${row.oneShot.verdict})` : `FAIL ${row.oneShot.error}`}${row.fineTune ? `; fine-tune ${row.fineTune.ok ? 'PASS' : `FAIL ${row.fineTune.error}`} (${row.fineTune.seconds.toFixed(0)} s)` : ''}`);
  }

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    '# torchvision architectures',
    '',
    `Measured by \`npm run zoo\` (scripts/zoo/run.js) on ${date}: torchvision ${python.versions.split(' ')[1]} classification models exported with`,
    `\`torch.onnx.export\` (opset 17, eval mode, random init, BatchNorm folded, ${o.size}×${o.size} inputs, 10 classes), unlabelled random`,
    'inputs (32 samples). One-shot: `sparsify --pattern 2:4 --inputs x.npy` then `validate --pattern 2:4 --reference dense.onnx`',
    '(pattern and numeric verdict). Fine-tune: 1 epoch label-free (distillation), batch 4, then `validate`. Random weights',
    'and random inputs say whether each step works on the architecture, not how accurate a trained model stays.',
    '',
    '| family | inspect: selected / layers | one-shot 2:4 + validate | fine-tune 1 epoch + validate |',
    '|---|---|---|---|',
    ...rows.map((r) => {
      if (r.export) return `| ${r.family} | ${cell(false, `export failed: ${short(r.export)}`)} | | |`;
      const i = r.inspect;
      const os1 = r.oneShot;
      const ft = r.fineTune;
      return `| ${r.family} | ${cell(i.ok, `${i.selected} / ${i.layers}`)} | ${cell(os1.ok, os1.ok ? `${os1.sparsified} layers (${os1.normalised} normalised), ${os1.validate}, ${os1.verdict}` : short(os1.error))} | ${ft ? cell(ft.ok, ft.ok ? `${ft.validate}, ${ft.seconds.toFixed(0)} s` : short(ft.error)) : 'skipped'} |`;
    }),
    '',
  ];
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'zoo.md'), lines.join('\n'));
  fs.writeFileSync(path.join(o.outDir, 'zoo.json'), JSON.stringify({ date, size: o.size, torch: python.versions, rows }, null, 2) + '\n');
  console.log(lines.join('\n'));
  const failed = rows.filter((r) => r.export || !r.inspect?.ok || !r.oneShot?.ok || (r.fineTune && !r.fineTune.ok)).length;
  console.log(`${rows.length - failed} passed, ${failed} failed`);
}

main();
