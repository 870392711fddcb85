"""``python -m wilsonian``: the command line."""

import sys

from wilsonian.app.entry import main

sys.exit(main())
