"""Keep a long-running process's start-up objects out of the cyclic garbage collector.

What a worker or the API has loaded by the time it starts serving (libraries, models, the
dashboard: a quarter to half a million objects) lives as long as the process. Left to the
collector, every full collection walks all of it with every Python thread of the process
stopped. Frozen once loaded, only what came later is walked.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_loaded_objects"]


def freeze_loaded_objects() -> None:
    """Collect what is garbage already, then move every object left to the permanent
    generation, which collections skip (``gc.unfreeze`` moves them back)."""
    gc.collect()
    gc.freeze()
