"""``python -m pipelines.config``: print the JSON Schema of `.modelgate.yml`."""

import json

from pipelines.config.model import config_json_schema

print(json.dumps(config_json_schema(), indent=2))
