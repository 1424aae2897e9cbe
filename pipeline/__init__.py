"""newsflow's pipeline: Faust agents that enrich and index news articles."""

__version__ = "0.1.0"
