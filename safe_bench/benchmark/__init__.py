"""Benchmark: many generators on many datasets and seeds.

``suite`` (the TOML file saying what to run); ``plan`` (its cells as tasks, keyed) and
``manifest`` (what a run ran on); ``cell`` (one cell: the SAFE protocol, failures
recorded), ``sandbox`` (a cell in a supervised process, killed on timeout), ``events``
(the stages cells enter, carried to the coordinator), ``backends`` (serial, joblib, Dask)
and ``progress`` (a live line per cell); ``runner`` (a suite run end to end); ``store``
(results in SQLite, resumable) and ``ranking`` (scores over seeds and datasets, average
ranks and the critical difference).
"""
