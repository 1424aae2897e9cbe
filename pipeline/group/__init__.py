"""Grouping across articles: wire copies into stories, quotes into quote groups."""
