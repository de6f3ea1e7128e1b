/** The core's layer list and validation report, shaped as the inspector's table rows. Pure: no vscode import. */
import type { BatchNormSummary, LayerInfo, ModelSummary, ValidationReport } from '../../core/types';
import type { BatchNormInfo, InspectorLayerRow, InspectorModelInfo, LayerCheck } from '../../protocol/messages';
import { dimsOfShape, heatmapGrid } from '../heatmap/grid';

export function inspectorRows(layers: readonly LayerInfo[]): InspectorLayerRow[] {
  return layers.map((l, index) => ({
    index,
    name: l.name,
    nodeName: l.nodeName,
    op: l.op,
    storageShape: l.storageShape,
    canonicalShape: l.canonicalShape,
    params: l.params,
    eligible: l.eligible,
    selected: l.selected,
    ...(l.reason ? { reason: l.reason } : {}),
    ...(l.bnAfter !== undefined ? { bnAfter: l.bnAfter } : {}),
    grid: heatmapGrid(dimsOfShape(l.canonicalShape)),
  }));
}

export function inspectorModelInfo(s: ModelSummary, fileName: string): InspectorModelInfo {
  return {
    file: s.file,
    fileName,
    irVersion: s.irVersion,
    opset: s.opset,
    producer: s.producer,
    nodeCount: s.nodeCount,
    paramCount: s.paramCount,
    hasExternalData: s.hasExternalData,
    inputs: s.inputs,
    outputs: s.outputs,
    batchNorm: batchNormInfo(s.batchNorm),
  };
}

/** What the views show of inspect's BatchNorm summary: the counts and the line, not the per-layer list. */
export function batchNormInfo(b: BatchNormSummary | undefined): BatchNormInfo {
  if (!b) return { nodes: 0, bnFree: 0, normalisable: 0, skipped: 0, folded: false, message: null };
  return { nodes: b.nodes, bnFree: b.bnFree, normalisable: b.normalisable, skipped: b.skipped.length, folded: b.folded, message: b.message };
}

export function layerChecks(report: ValidationReport): Record<string, LayerCheck> {
  const out: Record<string, LayerCheck> = {};
  for (const l of report.layers) {
    out[l.name] = {
      status: l.status,
      zeroFraction: l.zeroFraction ?? null,
      detected: l.detected ? `${l.detected.n}:${l.detected.m}` : null,
      violatingGroups: l.violatingGroups ?? null,
      totalGroups: l.totalGroups ?? null,
      ...(l.reason ? { reason: l.reason } : {}),
    };
  }
  return out;
}
