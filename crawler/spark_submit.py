"""``spark-submit`` entry point for WARC input (and any other): ``newsdedup spark-dedup``.

``store`` cannot read WARC files itself, because extraction lives in ``crawler``
and ``store`` never imports it; this script runs the CLI command, which hands the
crawler's reader to the job. The master is left to ``spark-submit`` unless ``--master``
is given::

    zip -r newsdedup.zip store crawler
    spark-submit --py-files newsdedup.zip crawler/spark_submit.py \\
        --input /shared/cc-news/ --output /shared/clusters --output-dir
"""

from __future__ import annotations

import sys

from crawler.cli import main

if __name__ == "__main__":
    sys.exit(main(["spark-dedup", "--master", "", *sys.argv[1:]]))
