"""``python -m emulation``: run the embedded engine in the foreground."""

import gc
import sys

# The imports below make objects that live as long as the process and next to no garbage:
# the collector waits until main has built the server (main turns it back on).
gc.disable()

from emulation.core import compilecache  # noqa: E402

compilecache.install()  # before the imports that compile most of what the start compiles

from emulation.server import main  # noqa: E402

sys.exit(main())
