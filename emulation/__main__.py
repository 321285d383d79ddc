"""``python -m emulation``: run the embedded engine in the foreground."""

import sys

from emulation.core import regexcache

regexcache.install()  # before the imports that compile most of the engine's expressions

from emulation.server import main  # noqa: E402

sys.exit(main())
