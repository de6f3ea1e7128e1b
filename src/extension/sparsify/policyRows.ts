/** The core's layer list as rows of the sparsify form's policy table. Pure: no vscode import. */
import type { LayerInfo } from '../../core/types';
import type { PolicyLayerRow } from '../../protocol/messages';

export function policyRows(layers: readonly LayerInfo[]): PolicyLayerRow[] {
  return layers.map((l) => ({
    name: l.name,
    op: l.op,
    shape: l.storageShape,
    params: l.params,
    eligible: l.eligible,
    selected: l.selected,
    ...(l.reason ? { reason: l.reason } : {}),
  }));
}
