"""``python -m wilsonian``: the command line."""

import sys

from wilsonian.app.cli import main

sys.exit(main())
