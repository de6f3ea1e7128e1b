/** The core's layer list as rows of the sparsify form's policy table. Pure: no vscode import. */
import type { BatchNormSummary, LayerInfo } from '../../core/types';
import type { LayerBnStatus, PolicyLayerRow } from '../../protocol/messages';

/**
 * `everyEligible`: the BatchNorm summary of the same model with every eligible layer selected, so that each
 * eligible row says whether a run could normalise it even when only an override selects it (whether a layer
 * can take a normalisation depends on the layer, not on what else is selected).
 */
export function policyRows(layers: readonly LayerInfo[], everyEligible?: Pick<BatchNormSummary, 'skipped'>): PolicyLayerRow[] {
  const why = new Map((everyEligible?.skipped ?? []).map((s) => [s.layer, s.reason]));
  return layers.map((l) => {
    let bn: LayerBnStatus | undefined;
    let bnReason: string | undefined;
    if (l.bnAfter !== undefined && everyEligible) {
      if (l.bnAfter) bn = 'after';
      else if (!l.eligible) bn = 'left';
      else if (why.has(l.name)) {
        bn = 'left';
        bnReason = why.get(l.name);
      } else bn = 'normalisable';
    }
    return {
      name: l.name,
      op: l.op,
      shape: l.storageShape,
      params: l.params,
      eligible: l.eligible,
      selected: l.selected,
      ...(l.reason ? { reason: l.reason } : {}),
      ...(bn ? { bn } : {}),
      ...(bnReason ? { bnReason } : {}),
    };
  });
}

/** The names to `include` so that every eligible layer is selected (exact names override the policy's roles). */
export function everyEligibleInclude(layers: readonly LayerInfo[]): string[] | null {
  const eligible = layers.filter((l) => l.eligible);
  return eligible.every((l) => l.selected) ? null : eligible.map((l) => l.name);
}
