"""The lake: the pipeline's Apache Iceberg tables, their catalog, and the one layer that reads,
writes, commits and publishes them.

``tables`` declares every table (identifier, columns with their comments, partitioning, layer);
``catalog`` says how Spark and other engines reach the catalog; ``commits`` is the I/O edge the
stages go through; ``query`` answers SQL without a JVM (PyIceberg and DuckDB).
"""
