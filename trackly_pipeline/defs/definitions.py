"""The code location Dagster loads (workspace.yaml): every definition, built from trackly.yaml.

Loading fails, naming the file, network and field, when the configuration is invalid."""

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions

defs = build_definitions(load_config())
