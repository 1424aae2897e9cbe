"""Data files of the connectors' rules (``pages.yaml``: walls and paywall markers)."""
