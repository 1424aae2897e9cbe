"""The worker entry point for Faust's CLI: the app built from the environment.

This is the one module that builds the app when imported, because
``faust -A pipeline.stream.main worker`` imports it to find ``app``.
"""

from pipeline.core.settings import Settings
from pipeline.stream.app import create_app

pipeline = create_app(Settings.from_env())
app = pipeline.app
