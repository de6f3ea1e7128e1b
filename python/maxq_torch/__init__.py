"""maxq_torch: the MaxQ N:M sparse fine-tune (CVPR 2024) on PyTorch, matching the MaxQ Studio TypeScript engine."""
from .errors import UsageError
from .fold import fold
from .masks import compute_layer_mask, layer_masks, nm_violations
from .pattern import NmPattern
from .schedule import DenseFractionSchedule, LrSchedule, schedule_for
from .sparsifier import MaxQSparsifier

__all__ = ["UsageError", "fold", "compute_layer_mask", "layer_masks", "nm_violations", "NmPattern",
           "DenseFractionSchedule", "LrSchedule", "schedule_for", "MaxQSparsifier"]
__version__ = "0.1.0"
