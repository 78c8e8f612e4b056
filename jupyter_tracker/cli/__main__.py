"""``python -m jupyter_tracker.cli``: the same as the ``jupyter-tracker`` command."""

import sys

from . import main

sys.exit(main())
