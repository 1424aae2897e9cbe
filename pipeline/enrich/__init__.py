"""Enrichment: language, entities, source attribution. See :mod:`pipeline.enrich.article`."""
