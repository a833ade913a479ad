"""``python -m safe_bench.cli``: the ``safe-bench`` command."""

import sys

from safe_bench.cli.main import main

sys.exit(main())
