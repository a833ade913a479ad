"""Generators benchmarked by safe-bench, each behind the :class:`safe_bench.generator.Generator`
contract and registered in the ``safe_bench.generators`` entry-point group."""
