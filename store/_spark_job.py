"""``spark-submit`` entry point: ``spark-submit --py-files newsdedup.zip store/_spark_job.py``.

A file of its own because spark-submit runs a path, not a module, and the package's
modules use relative imports; see ``store._spark`` for the options and the output.
"""

from __future__ import annotations

import sys

from store._spark import main

if __name__ == "__main__":
    sys.exit(main())
