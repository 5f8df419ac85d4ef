"""Corpus-scale batch dedup on Apache Spark, with the local path's exact output.

pyspark is an optional extra (``pip install 'newsdedup[spark]'``): nothing here imports it
until a job starts, and :class:`SparkUnavailable` says which extra is missing.
"""

from ._job import SparkDedupStats, SparkUnavailable, spark_dedup, spark_session

__all__ = ["SparkDedupStats", "SparkUnavailable", "spark_dedup", "spark_session"]
