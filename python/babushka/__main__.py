"""``python -m babushka``: the ``babushka`` command (see :mod:`babushka.cli`)."""

import sys

from babushka.cli import main

sys.exit(main())
