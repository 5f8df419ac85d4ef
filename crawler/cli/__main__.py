"""``python -m crawler.cli``: the ``newsdedup`` command without the installed script."""

import sys

from ._main import main

sys.exit(main())
