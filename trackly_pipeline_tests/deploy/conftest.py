"""The sandbox project of the Dagster tests (defs/conftest.py), for the deploy tests' real syncs."""

from trackly_pipeline_tests.defs.conftest import project, standard_files, standard_world

__all__ = ["project", "standard_files", "standard_world"]
