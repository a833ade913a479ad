"""The ``safe-bench`` command line: one module per command, each adding its own
subcommand to the parser (``add_parser``) and running it (``run``); ``options`` holds
what several commands share, ``console`` printing to a reader that may go away, and
``main`` the parser and the entry point."""
