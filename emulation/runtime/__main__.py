"""``python -m emulation.runtime``: the process runtime daemon in the foreground."""

import sys

from emulation.runtime.daemon import main

sys.exit(main())
