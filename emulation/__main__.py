"""``python -m emulation``: run the embedded engine in the foreground."""

import sys

from emulation.server import main

sys.exit(main())
