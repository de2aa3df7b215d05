"""Entry points: the `duban` script, the dev stack, the worker, its jobs and the importer."""
