"""Build the compact ``schema.json`` of the Bot API from a full ``api.json`` dump.

Usage: ``python -m sandbox.build_schema PATH_TO_API_JSON [OUTPUT]``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("schema.json")


def _fields(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Map field name -> {type, required}; several types are joined with " or "."""
    return {item["name"]: {"type": " or ".join(item["types"]), "required": bool(item["required"])} for item in items}


def build(api: dict[str, Any]) -> dict[str, Any]:
    """Reduce the full dump to methods (params, returns) and types (fields, subtypes)."""
    methods = {
        name: {"returns": " or ".join(method.get("returns", [])), "params": _fields(method.get("fields", []))}
        for name, method in api["methods"].items()
    }
    types: dict[str, Any] = {}
    for name, kind in api["types"].items():
        entry: dict[str, Any] = {}
        if "subtypes" in kind:
            entry["subtypes"] = list(kind["subtypes"])
        if "fields" in kind:
            entry["fields"] = _fields(kind["fields"])
        types[name] = entry
    return {"version": api.get("version", ""), "methods": methods, "types": types}


def dump(schema: dict[str, Any]) -> str:
    """Serialise with one method or type per line: small and diff-friendly."""
    lines = ["{", f'"version": {json.dumps(schema["version"])},']
    for section in ("methods", "types"):
        lines.append(f'"{section}": {{')
        entries = list(schema[section].items())
        for index, (name, body) in enumerate(entries):
            comma = "," if index < len(entries) - 1 else ""
            lines.append(f"{json.dumps(name)}: {json.dumps(body, ensure_ascii=False, separators=(',', ':'))}{comma}")
        lines.append("}," if section == "methods" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m sandbox.build_schema PATH_TO_API_JSON [OUTPUT]", file=sys.stderr)
        return 2
    api = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    output = Path(args[1]) if len(args) > 1 else SCHEMA_PATH
    schema = build(api)
    output.write_text(dump(schema), encoding="utf-8")
    print(f"{output}: {len(schema['methods'])} methods, {len(schema['types'])} types ({schema['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
