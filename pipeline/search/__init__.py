"""Search: query building over the index and rendering of results."""
