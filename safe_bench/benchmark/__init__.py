"""Benchmark: many generators on many datasets and seeds.

``suite`` (the TOML file saying what to run); ``plan`` (its cells as tasks, keyed) and
``manifest`` (what a run ran on); ``work`` (the protocol of a unit of work: a cell, a
scenario's batch of replicates), ``cell`` (one cell: the SAFE protocol, failures
recorded), ``sandbox`` (an item of work in a supervised process, killed on timeout),
``events`` (the stages items enter, carried to the coordinator), ``backends`` (serial,
joblib, Dask) and ``progress`` (a live line per item); ``runner`` (a suite run, or any
work, end to end); ``store`` (results in SQLite, resumable) and ``ranking`` (scores over
seeds and datasets, average ranks and the critical difference).
"""
