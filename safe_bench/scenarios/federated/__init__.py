"""Federated scenarios: one table split into hospital sites, generators trained across them.

The sites come from :mod:`~safe_bench.scenarios.federated.partition`; the FedAvg round
loop, in-process or through Flower, from :mod:`~safe_bench.scenarios.federated.rounds`
and :mod:`~safe_bench.scenarios.federated.flower`.
"""
