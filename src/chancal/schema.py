"""The JSON Schema of the program file, generated from the models."""

from __future__ import annotations

import json
from datetime import time, timedelta
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from chancal.durations import format_duration
from chancal.models import Config


class _AsWritten(GenerateJsonSchema):
    """Defaults written as a program file writes them (`1h`, `09:00`), not ISO 8601.

    pydantic encodes a default without the field's serializer, so a duration's
    default would read `PT1H`, which the duration pattern of the same field refuses.
    """

    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):
            return format_duration(dft)
        if isinstance(dft, time):
            return dft.strftime("%H:%M")
        if isinstance(dft, tuple | list):
            return [self.encode_default(item) for item in dft]
        if isinstance(dft, BaseModel):
            return dft.model_dump(mode="json", by_alias=True)
        return super().encode_default(dft)


def schema_json() -> str:
    """Return the JSON Schema as stable, sorted, indented text."""
    schema = Config.model_json_schema(by_alias=True, schema_generator=_AsWritten)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "chancal program file, version 1"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
