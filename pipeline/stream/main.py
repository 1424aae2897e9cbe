"""The worker entry point for Faust's CLI: the app built from the environment.

This is the one module that builds the app when imported, because
``faust -A pipeline.stream.main worker`` imports it to find ``app``.
"""

from pipeline.core.settings import Settings
from pipeline.stream.app import create_app
from pipeline.stream.topics import wait_for_kafka

settings = Settings.from_env()
wait_for_kafka(settings)
pipeline = create_app(settings)
app = pipeline.app
