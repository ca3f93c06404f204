"""The target repository's `.modelgate.yml`: the model (``model``), the sections of its own
(``access``: who may run PR commands and whose code waits; ``deploy``: how production serves),
and the problems reported with key and value (``problems``).

`python -m pipelines.config` prints the JSON Schema (pinned in tests/pipelines/golden/config.schema.json).
"""

from pipelines.config.model import (
    CONFIG_FILE,
    ConfigError,
    CustomMetric,
    GateRule,
    ModelgateConfig,
    SliceSpec,
    config_json_schema,
    load_config,
    parse_config,
)

__all__ = ["CONFIG_FILE", "ConfigError", "CustomMetric", "GateRule", "ModelgateConfig", "SliceSpec",
           "config_json_schema", "load_config", "parse_config"]
