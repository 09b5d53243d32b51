"""The JSON Schema of the program file, generated from the models."""

from __future__ import annotations

import json

from chancal.models import Config


def schema_json() -> str:
    """Return the JSON Schema as stable, sorted, indented text."""
    schema = Config.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chancal program file, version 1"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
