"""The ``safe-bench`` command line."""
