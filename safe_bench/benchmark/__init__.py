"""Benchmark: many generators on many datasets and seeds.

``suite`` (the TOML file saying what to run), ``runner`` (cells run in sandboxed processes
on a backend), ``store`` (results in SQLite, resumable) and ``ranking`` (scores over seeds
and datasets, average ranks and the critical difference).
"""
