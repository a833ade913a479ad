"""Performance benchmarks (pytest-benchmark) and the benchmark data helpers they share."""
