"""The SAFE metrics: one sub-package per pillar (``fidelity`` S, ``clinical`` C,
``privacy`` P), each holding its metrics and the engines they run on; ``base`` is the
metric contract and ``registry`` the complete registry (bundled pillars, then the
third-party plug-ins of :mod:`safe_bench.metrics.plugins`).

Importing a sub-module registers nothing by itself; import
:mod:`safe_bench.metrics.registry` for the full :data:`~safe_bench.metrics.registry.METRICS`.
"""
