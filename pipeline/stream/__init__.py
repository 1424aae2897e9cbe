"""The streaming stage: the Faust app (``create_app``), its topics and worker processes."""
