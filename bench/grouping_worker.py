"""A Faust app with only the grouping agents (``funnel`` and ``stories``: the
pipeline's own code, :func:`pipeline.stream.stories.add_stories`), for
``bench/grouping_throughput.py``::

    faust -A bench.grouping_worker worker -l warn --without-web

Assignments go to the assigned topic as in the pipeline; nothing reads them here.
"""

from __future__ import annotations

import faust

from pipeline.core import metrics
from pipeline.core.settings import Settings
from pipeline.stream.app import faust_app
from pipeline.stream.batches import Batches
from pipeline.stream.stories import add_stories


def build(settings: Settings) -> faust.App:
    """The grouping stages alone on ``settings``' topics."""
    app = faust_app(settings)
    topic = {name: app.topic(name, value_type=bytes, key_type=bytes,
                             partitions=settings.topic_partitions(name))
             for name in settings.topics}
    batches = Batches(settings=settings, enriched=topic[settings.enriched_topic],
                      dead_letters=topic[settings.dead_letter_topic])
    app.on_partitions_revoked.connect(batches.gaps.on_rebalance)
    app.on_partitions_assigned.connect(batches.gaps.on_rebalance)
    add_stories(app, settings, batches, topic)

    @app.task
    async def on_start() -> None:
        metrics.serve(settings.metrics_port)

    return app


app = build(Settings.from_env())
