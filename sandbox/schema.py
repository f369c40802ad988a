"""Bot API method signatures from ``schema.json`` and coercion of request parameters."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import bad_request
from .files import Upload

SCHEMA_PATH = Path(__file__).with_name("schema.json")
_INTEGER = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}

# Telegram's own wording when some well-known parameter is absent.
_MISSING = {
    "chat_id": "chat_id is empty",
    "text": "message text is empty",
    "message_id": "message identifier is not specified",
    "from_chat_id": "from_chat_id is empty",
    "photo": "there is no photo in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "media": "media is empty",
    "user_id": "user_id is empty",
    "callback_query_id": "callback_query_id is empty",
    "file_id": "file_id is empty",
    "phone_number": "phone number is empty",
    "first_name": "first name is empty",
}
_JSON_NAMES = {"reply_markup": "reply keyboard markup", "entities": "entities", "caption_entities": "entities"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool


# Parameters gone from the documentation that Telegram still accepts with ``reply_parameters``.
_LEGACY = {
    "reply_to_message_id": Param("reply_to_message_id", "Integer", False),
    "allow_sending_without_reply": Param("allow_sending_without_reply", "Boolean", False),
}


@dataclass(frozen=True)
class MethodSpec:
    name: str
    returns: str
    params: dict[str, Param]


class Schema:
    """The methods of the Bot API, looked up case-insensitively like Telegram does."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.types: dict[str, Any] = dict(data.get("types", {}))
        self._methods: dict[str, MethodSpec] = {}
        for name, body in data["methods"].items():
            params = {key: Param(key, spec["type"], bool(spec["required"])) for key, spec in body["params"].items()}
            self._methods[name.lower()] = MethodSpec(name, body.get("returns", ""), params)

    @classmethod
    def load(cls, path: Path = SCHEMA_PATH) -> Schema:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def method(self, name: str) -> MethodSpec | None:
        return self._methods.get(name.lower())

    def method_names(self) -> list[str]:
        return sorted(spec.name for spec in self._methods.values())


def parse_params(spec: MethodSpec, raw: Mapping[str, Any], uploads: Mapping[str, Upload]) -> dict[str, Any]:
    """Check required parameters and coerce every known one to its declared type."""
    result: dict[str, Any] = {}
    for param in spec.params.values():
        value = raw.get(param.name)
        if _is_missing(value):
            if param.required:
                raise bad_request(_MISSING.get(param.name, f'parameter "{param.name}" is required'))
            continue
        result[param.name] = coerce(param, value, uploads)
    if "reply_parameters" in spec.params:
        for name, param in _LEGACY.items():
            if not _is_missing(raw.get(name)):
                result[name] = coerce(param, raw[name], uploads)
    return result


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def coerce(param: Param, value: Any, uploads: Mapping[str, Upload]) -> Any:
    """Coerce one value (a string from a form, or a JSON value) to ``param.type``."""
    kind = param.type
    if kind == "Integer":
        return _integer(param.name, value)
    if kind == "Float":
        return _float(param.name, value)
    if kind == "Boolean":
        return _boolean(param.name, value)
    if kind == "String":
        return _string(param.name, value)
    if kind == "Integer or String":
        return _integer_or_string(param.name, value)
    if "InputFile" in kind:
        return _input_file(param.name, value, uploads)
    return _json_value(param.name, kind, value)


def _wrong_type(name: str, kind: str) -> Exception:
    return bad_request(f'parameter "{name}" must be of type {kind}')


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _wrong_type(name, "Integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise _wrong_type(name, "Integer")


def _float(name: str, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        return float(value.strip())
    raise _wrong_type(name, "Float")


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _wrong_type(name, "Boolean")


def _string(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _wrong_type(name, "String")


def _integer_or_string(name: str, value: Any) -> int | str:
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _INTEGER.match(text) else text
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _wrong_type(name, "Integer or String")


def _input_file(name: str, value: Any, uploads: Mapping[str, Upload]) -> Upload | str:
    if isinstance(value, Upload):
        return value
    if not isinstance(value, str):
        raise _wrong_type(name, "InputFile or String")
    if value.startswith("attach://"):
        upload = uploads.get(value[len("attach://") :])
        if upload is None:
            raise bad_request(f'file "{value[len("attach://") :]}" to attach not found in the request')
        return upload
    return value


def _json_value(name: str, kind: str, value: Any) -> Any:
    """Decode a JSON-serialised object or array; its shape is checked by the method."""
    label = _JSON_NAMES.get(name, name)
    if isinstance(value, Upload):
        raise _wrong_type(name, kind)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {label} JSON object") from None
    expects_array = kind.startswith("Array of")
    if expects_array and not isinstance(value, list):
        raise bad_request(f"can't parse {label} JSON object: an Array expected")
    if not expects_array and name != "reply_markup" and not isinstance(value, dict):
        raise bad_request(f"can't parse {label} JSON object: an Object expected")
    return value
