"""What every long-running duban process does once it has started (`duban web`, `duban worker`,
`duban dev`)."""

from __future__ import annotations

import gc


def freeze_after_start_up() -> None:
    """Move everything start-up made out of the collector's reach.

    Imports, the app's routes and templates, the sandbox's precompiled workflow code and the
    settings are some 350,000 objects; a full collection re-walks them all, ~180 ms here, and a
    request or a workflow task that meets one waits that long. Frozen, they are never walked
    again (`make bench` sections (f) and (h) measure the pauses with and without).
    """
    gc.collect()
    gc.freeze()
