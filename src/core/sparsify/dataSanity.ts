/**
 * The data sanity check before a run: does the dense model make sense of this data under the chosen
 * preprocessing? A model fed the wrong preprocessing (bytes scaled to [0,1] for a model trained on MNIST
 * mean/std, say) is near chance before anything is pruned, and every number the run reports would be noise.
 *
 * With labels: dense top-1 on up to 4 batches. Below 90 % every preset is tried on the same samples; when one
 * does clearly better (above chance and 10 points or more ahead: raw bytes gave 45.7 % on the MNIST demo CNN,
 * its MNIST mean/std 98.4 %) and that lead could not be luck on the samples checked (one-sided binomial tail
 * < 1 %), the run stops with a usage error naming it; a lead on too few samples to tell is a warning. At or below max(2/K, 1/K + 0.1) with no
 * better preset a warning says that no preprocessing helps (an untrained model, or labels that don't match). Without labels: the mean
 * normalised entropy of the dense softmax above 0.9 is a warning naming the most confident preset.
 */
import { Dataset } from '../data/dataset';
import { SubsetDataset } from '../data/split';
import { channelAffine, describeNormalize, canonicalNormalize, Normalization, parseNormalization, PREPROCESSING_PRESETS } from '../data/normalize';
import { usageError } from '../errors';
import { runtimeClassCount } from '../runtime/classifierOutput';
import { createSession, ort } from '../runtime/ortSession';
import { throwIfCancelled } from './cancellation';

export const SANITY_BATCHES = 4;
/** Mean normalised entropy (entropy / ln K) above which unlabelled outputs read as "the model is guessing". */
export const SANITY_ENTROPY = 0.9;
/** Dense accuracy below which the presets are tried too, and how far ahead one must be to stop the run. */
export const SANITY_SUSPECT = 0.9;
export const SANITY_MARGIN = 0.1;
/** How unlikely by luck a preset's lead must be (one-sided binomial tail) before it stops the run. */
export const SANITY_SIGNIFICANCE = 0.01;

/** P(X ≥ k) for X ~ Binomial(n, p), summed in log space (n is at most a few hundred here). */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let logC = 0; // log C(n, i), built up from i = 0
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    if (i > 0) logC += Math.log((n - i + 1) / i);
    if (i >= k) sum += Math.exp(logC + i * Math.log(p) + (n - i) * Math.log(1 - p));
  }
  return Math.min(1, sum);
}

export interface SanityOptions {
  batchSize: number;
  batches?: number;
  threads?: number;
  signal?: AbortSignal;
}

export interface PresetScore {
  name: string;
  label: string;
  normalize: string;
  /** Accuracy (with labels) or mean normalised entropy (without). */
  value: number;
}

export interface SanityResult {
  metric: 'accuracy' | 'entropy';
  /** The score under the chosen preprocessing. */
  value: number;
  /** The chosen preprocessing, as a `SCALE,MEAN,STD` string, and how messages name it. */
  preprocessing: string | null;
  label: string;
  samples: number;
  classes: number;
  /** Presets tried (only when the chosen preprocessing looked wrong), best first. */
  presets: PresetScore[];
  /** A warning for the run's log, when the check found something but does not stop the run. */
  warning?: string;
}

/** The normalisation a data set applies, when it says (NpyDataset, ImageFolderDataset, MNIST demo, subsets of them). */
export function datasetNormalization(d: Dataset): Normalization | null {
  let cur: Dataset = d;
  while (cur instanceof SubsetDataset) cur = cur.base;
  const n = (cur as { normalization?: Normalization }).normalization;
  return n && typeof n.scale === 'number' ? n : null;
}

function fixedBatch(session: ort.InferenceSession): number | null {
  const meta = session.inputMetadata[0];
  const first = meta && meta.isTensor ? meta.shape[0] : undefined;
  return typeof first === 'number' && first > 0 ? first : null;
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** Samples spread over the whole set (image folders and many .npy files are sorted by class). */
function sampleIndices(count: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor((i * count) / n));
}

/** Re-expresses preprocessed inputs under another normalisation: back to the raw values, then forward. */
function renormalize(inputs: Float32Array, shape: readonly [number, number, number], from: Normalization, to: Normalization): Float32Array {
  const [c] = shape;
  const plane = shape[1] * shape[2];
  const a = channelAffine(from, c);
  const b = channelAffine(to, c);
  const out = new Float32Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const ch = Math.floor(i / plane) % c;
    out[i] = b.mul[ch] * ((inputs[i] - a.add[ch]) / a.mul[ch]) + b.add[ch];
  }
  return out;
}

interface Scores {
  accuracy: number;
  entropy: number;
  classes: number;
}

export async function dataSanityCheck(modelPath: string, data: Dataset, opts: SanityOptions): Promise<SanityResult | null> {
  const session = await createSession(modelPath, modelPath, { threads: opts.threads });
  try {
    const fixed = fixedBatch(session);
    const bs = fixed ?? opts.batchSize;
    let n = Math.min((opts.batches ?? SANITY_BATCHES) * bs, data.count);
    if (fixed) n = Math.floor(n / fixed) * fixed;
    if (n === 0) return null;
    const indices = sampleIndices(data.count, n);
    const chunks: { inputs: Float32Array; labels: BigInt64Array | null; n: number }[] = [];
    for (let s = 0; s < n; s += bs) {
      const idx = indices.slice(s, s + bs);
      const b = data.getBatch(idx);
      chunks.push({ inputs: b.inputs, labels: b.labels, n: idx.length });
    }
    const [c, h, w] = data.inputShape;
    const score = async (transform: (x: Float32Array) => Float32Array): Promise<Scores> => {
      let correct = 0, entropy = 0, total = 0, classes = 0;
      for (const chunk of chunks) {
        throwIfCancelled(opts.signal);
        const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', transform(chunk.inputs), [chunk.n, c, h, w]) });
        const logits = out[session.outputNames[0]];
        const k = runtimeClassCount(logits.dims, session.outputNames[0], modelPath);
        const values = logits.data as Float32Array;
        classes = k;
        const rows = Math.min(chunk.n, Math.floor(values.length / Math.max(k, 1)));
        for (let r = 0; r < rows; r++) {
          const off = r * k;
          let best = 0, max = -Infinity;
          for (let j = 0; j < k; j++) if (values[off + j] > max) { max = values[off + j]; best = j; }
          let sum = 0;
          for (let j = 0; j < k; j++) sum += Math.exp(values[off + j] - max);
          let hsum = 0;
          for (let j = 0; j < k; j++) {
            const p = Math.exp(values[off + j] - max) / sum;
            if (p > 0) hsum -= p * Math.log(p);
          }
          entropy += Number.isFinite(hsum) && k > 1 ? hsum / Math.log(k) : 1;
          if (chunk.labels && Number(chunk.labels[r]) === best) correct++;
          total++;
        }
      }
      return { accuracy: total ? correct / total : 0, entropy: total ? entropy / total : 1, classes };
    };
    const current = await score((x) => x);
    const k = current.classes;
    if (k < 2) return null;
    const chosen = datasetNormalization(data);
    const preprocessing = chosen ? canonicalNormalize(chosen) : null;
    const label = preprocessing ? describeNormalize(preprocessing) : 'the data set’s own preprocessing';
    const labelled = data.hasLabels;
    const result: SanityResult = { metric: labelled ? 'accuracy' : 'entropy', value: labelled ? current.accuracy : current.entropy, preprocessing, label, samples: n, classes: k, presets: [] };
    const chance = Math.max(2 / k, 1 / k + 0.1);
    const suspect = labelled ? current.accuracy < SANITY_SUSPECT : current.entropy > SANITY_ENTROPY;
    if (!suspect) return result;
    if (chosen) {
      for (const p of PREPROCESSING_PRESETS) {
        const norm = parseNormalization(p.normalize);
        if (norm.mean.length !== 1 && norm.mean.length !== c) continue;
        if (preprocessing === p.normalize) continue;
        const s = await score((x) => renormalize(x, data.inputShape, chosen, norm));
        result.presets.push({ name: p.name, label: p.label, normalize: p.normalize, value: labelled ? s.accuracy : s.entropy });
      }
      result.presets.sort((a, b) => (labelled ? b.value - a.value : a.value - b.value));
    }
    const best = result.presets[0];
    if (labelled) {
      const threshold = Math.max(chance, current.accuracy + SANITY_MARGIN);
      if (best && best.value > threshold) {
        // On a handful of samples one lucky guess clears the margin (1 of 4 right is 25 %): the run stops only
        // when the preset's lead over chance and over the chosen preprocessing could not be luck.
        if (binomialTail(Math.round(best.value * n), n, Math.max(1 / k, current.accuracy)) >= SANITY_SIGNIFICANCE) {
          result.warning = `data sanity check: dense accuracy ${pct(current.accuracy)} under ${label} on ${data.source}, ${pct(best.value)} under ${best.label}: ${n} samples are too few to tell the preprocessing apart; check it`;
          return result;
        }
        const others = result.presets.filter((p) => p.value > threshold).slice(0, 3).map((p) => `${pct(p.value)} under ${p.label} (--normalize ${p.name})`).join('; ');
        const e = usageError(`dense accuracy ${pct(current.accuracy)} under ${label} on ${data.source}; ${others} — the model expects other preprocessing (checked on ${n} samples; --no-sanity-check to run anyway)`);
        e.details = { sanityCheck: result };
        throw e;
      }
      if (current.accuracy > chance) return result;
      result.warning = `data sanity check: dense accuracy ${pct(current.accuracy)} under ${label} on ${data.source} (${n} samples, ${k} classes) is near chance${best ? `, and no preprocessing preset does better (best ${pct(best.value)} under ${best.label})` : ''}: the labels may not match the model, or the model is not trained`;
    } else {
      const better = best && best.value < Math.min(SANITY_ENTROPY, current.entropy - 0.1) ? `; the dense model is most confident under ${best.label} (entropy ${best.value.toFixed(2)}, --normalize ${best.name})` : '';
      result.warning = `data sanity check: the dense model is unsure on ${data.source} under ${label} (mean normalised entropy ${current.entropy.toFixed(2)} on ${n} samples, above ${SANITY_ENTROPY})${better}; check the preprocessing`;
    }
    return result;
  } finally {
    await session.release();
  }
}
