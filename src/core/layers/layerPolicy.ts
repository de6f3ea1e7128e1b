/**
 * Which layers get sparsified: the MaxQ reference policy (spec §8) plus include/exclude overrides.
 * Structural eligibility (what N:M can apply to at all) is decided in layerDiscovery; this file only decides
 * what the default selects and how the user's overrides change that.
 */
import { LayerInfo } from '../types';

export interface LayerSelection {
  /** Names or glob patterns (`*`, `?`) matched against the weight name or the node name. */
  include?: string[];
  exclude?: string[];
}

/** Why the default policy leaves a structurally eligible layer dense. */
export type PolicyRole = 'first-conv' | 'stem-linear' | 'final-classifier' | 'linear' | null;

export function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

function matches(patterns: string[] | undefined, layer: Pick<LayerInfo, 'name' | 'nodeName'>): 'exact' | 'glob' | null {
  if (!patterns) return null;
  let hit: 'exact' | 'glob' | null = null;
  for (const p of patterns) {
    if (p === layer.name || p === layer.nodeName) return 'exact';
    const re = globToRegExp(p);
    if (re.test(layer.name) || re.test(layer.nodeName)) hit = 'glob';
  }
  return hit;
}

const ROLE_REASON: Record<Exclude<PolicyRole, null>, string> = {
  'first-conv': 'first conv (consumes the model input; the MaxQ reference keeps it dense)',
  'stem-linear': 'linear stem (patch embedding of the model input; kept dense like the first conv)',
  'final-classifier': 'final classifier (kept dense unless named with --include)',
  linear: 'linear layer (opt-in: name it with --include)',
};

/**
 * Decide `selected` and `reason` for one layer. `structuralReason` is set when N:M cannot apply at all
 * (depthwise, grouped, channels not a multiple of M, non-constant weight …); overrides cannot force those.
 */
export function applyPolicy(
  layer: Pick<LayerInfo, 'name' | 'nodeName'>,
  structuralReason: string | undefined,
  role: PolicyRole,
  selection: LayerSelection,
): { selected: boolean; reason?: string } {
  if (structuralReason) return { selected: false, reason: structuralReason };
  const excluded = matches(selection.exclude, layer);
  if (excluded) return { selected: false, reason: `excluded by --exclude` };
  if (role === null) return { selected: true };
  const included = matches(selection.include, layer);
  // A glob opts linear layers in as a group, but the classifier only when named exactly (spec §8.2).
  if (included === 'exact' || (included === 'glob' && role !== 'final-classifier')) return { selected: true };
  return { selected: false, reason: ROLE_REASON[role] };
}
