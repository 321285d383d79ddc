"""``python -m emulation``: run the embedded engine in the foreground."""

import sys

from emulation.core import compilecache

compilecache.install()  # before the imports that compile most of what the start compiles

from emulation.server import main  # noqa: E402

sys.exit(main())
