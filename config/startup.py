"""What a long-running process does once it has started, before it serves."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Take what start-up made (modules, settings, the URL map, the composed application: about
    130,000 objects, none of which ever becomes garbage) out of the garbage collector's sight, so
    that its full collections stop walking them again and again.

    Measured in-process, 2,000 accepted movements: the collector's share of the CPU fell from 5.4%
    to 2.7% (its full collections from 0.031 ms to nothing per request); raising its thresholds
    as well gained nothing more.
    """
    gc.collect()
    gc.freeze()
