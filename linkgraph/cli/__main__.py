"""``python -m linkgraph.cli``, as the single-module CLI allowed before it became a package."""

import sys

from . import main

sys.exit(main())
