import sys

from babushka.bench.cli import main

sys.exit(main())
