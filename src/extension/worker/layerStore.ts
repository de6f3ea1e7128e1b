/**
 * The worker's caches: the loaded model of one file (reloaded when the file changes on disk, dropped when idle)
 * and the last few layers' weights and masks, so panning, zooming and hovering a heatmap never reloads or
 * recomputes anything.
 */
import * as fs from 'fs';
import { OnnxModel } from '../../core/onnx/onnxModel';
import { discoverLayers } from '../../core/layers/layerDiscovery';
import { findLayer, loadLayerWeight } from '../../core/layers/layerWeights';
import { computeLayerMask } from '../../core/masks/layerMask';
import { NmPattern } from '../../core/masks/nmPattern';
import type { LayerInfo, MaskMethod } from '../../core/types';
import { LayerValues, maxAbs } from '../heatmap/tileValues';
import { LruCache } from './lruCache';

export interface LayerWeights {
  info: LayerInfo;
  values: LayerValues;
  maxAbs: number;
}

export interface LayerMaskEntry {
  hard: Uint8Array;
  soft: Float32Array;
  numBlocks: number;
  numDenseBlocks: number;
  keptFraction: number;
}

/** A mask, or why the layer cannot have one for this pattern. */
export type MaskOutcome = { mask: LayerMaskEntry } | { unavailable: string };

const IDLE_DROP_MS = 120_000;

interface LoadedFile {
  path: string;
  mtimeMs: number;
  size: number;
  model: Promise<OnnxModel>;
}

export class LayerStore {
  private file: LoadedFile | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly weights = new LruCache<string, Promise<LayerWeights>>(3);
  private readonly masks = new LruCache<string, Promise<MaskOutcome>>(4);

  async model(path: string): Promise<OnnxModel> {
    this.touch();
    let st: fs.Stats | undefined;
    try {
      st = await fs.promises.stat(path);
    } catch {
      st = undefined; // OnnxModel.open reports the missing file with its own message
    }
    const f = this.file;
    if (f && f.path === path && st && f.mtimeMs === st.mtimeMs && f.size === st.size) return f.model;
    this.forget();
    // For reading only: the structure now, each layer's weights from the file when it is shown (memory ≈ the
    // layers in the caches, not the whole file).
    const model = OnnxModel.open(path);
    this.file = { path, mtimeMs: st?.mtimeMs ?? 0, size: st?.size ?? 0, model };
    model.catch(() => {
      if (this.file?.model === model) this.file = undefined; // never cache a failed load
    });
    return model;
  }

  async layerWeights(path: string, layerName: string): Promise<LayerWeights> {
    const model = await this.model(path);
    const key = `${path}\u0000${layerName}`;
    let entry = this.weights.get(key);
    if (!entry) {
      entry = (async () => {
        const info = findLayer(discoverLayers(model), layerName, path);
        const w = await loadLayerWeight(model, info);
        const values: LayerValues = { dims: { O: w.O, I: w.I, Kh: w.Kh, Kw: w.Kw }, weights: w.data };
        return { info, values, maxAbs: maxAbs(w.data) };
      })();
      this.weights.set(key, entry);
      entry.catch(() => this.weights.delete(key));
    }
    return entry;
  }

  async layerMask(path: string, layerName: string, pattern: string, method: MaskMethod): Promise<MaskOutcome> {
    const nm = NmPattern.parse(pattern);
    const model = await this.model(path);
    const key = `${path}\u0000${layerName}\u0000${nm}\u0000${method}`;
    let entry = this.masks.get(key);
    if (!entry) {
      entry = (async (): Promise<MaskOutcome> => {
        const forM = findLayer(discoverLayers(model, { m: nm.m }), layerName, path);
        if (!forM.eligible) return { unavailable: forM.reason ?? `not eligible for ${nm}` };
        const { values } = await this.layerWeights(path, layerName);
        const w = { data: values.weights, ...values.dims };
        const mask = computeLayerMask(w, nm, method, 0, layerName);
        let kept = 0;
        for (let k = 0; k < mask.hard.length; k++) kept += mask.hard[k];
        return {
          mask: {
            hard: mask.hard,
            soft: mask.soft,
            numBlocks: mask.numBlocks,
            numDenseBlocks: mask.numDenseBlocks,
            keptFraction: mask.hard.length > 0 ? kept / mask.hard.length : 0,
          },
        };
      })();
      this.masks.set(key, entry);
      entry.catch(() => this.masks.delete(key));
    }
    return entry;
  }

  forget(path?: string): void {
    if (path !== undefined && this.file && this.file.path !== path) return;
    this.file = undefined;
    this.weights.clear();
    this.masks.clear();
  }

  /** A whole model can be hundreds of MB: let it go when nobody has asked for a while. */
  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.forget(), IDLE_DROP_MS);
    this.idleTimer.unref();
  }
}
