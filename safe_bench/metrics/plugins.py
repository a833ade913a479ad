"""Third-party metrics, found like third-party generators: through the entry-point group
``safe_bench.metrics``. Each entry point names a module (or an object in one) whose
import registers its metrics with :func:`safe_bench.metrics.base.metric`, exactly as
the bundled pillars do; a registered metric carries its pillar, goal, range and minimum
evidence, counts in its pillar like any other and appears in ``safe-bench metrics``.

A plug-in that cannot be loaded (an import error, an id registered twice) does not take
safe-bench down: it is left out and named, with its error, in :data:`FAILED`.
"""

from __future__ import annotations

from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "safe_bench.metrics"
#: Plug-ins that could not be loaded: ``name (module:object)`` -> the error.
FAILED: dict[str, str] = {}


def load_plugins() -> None:
    """Import every metric plug-in, in the order of their names (so the registry, and
    every result, does not depend on the order distributions are found in)."""
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        try:
            ep.load()
        except Exception as exc:  # a broken plug-in is reported, never fatal
            FAILED[f"{ep.name} ({ep.value})"] = f"{type(exc).__name__}: {exc}"
