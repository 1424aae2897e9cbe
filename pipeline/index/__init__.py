"""Indexing: the Elasticsearch template and mapping, the bulk indexer, reindexing."""
