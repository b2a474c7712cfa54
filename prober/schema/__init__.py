"""The published JSON Schema of prober's output lines, generated from base.schema.json (what every record
has) and the probe kinds' own sections (prober/probes/registry.py). `python -m prober.schema` writes
result.schema.json; a test fails when the committed file differs from what this generates."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASE = HERE / "base.schema.json"
PUBLISHED = HERE / "result.schema.json"


def generate() -> dict[str, Any]:
    """The whole schema: the base, with each kind's section, its name in `type`, and the rule that a
    record of that type carries that section."""
    from prober.probes import registry

    schema: dict[str, Any] = copy.deepcopy(json.loads(BASE.read_text(encoding="utf-8")))
    probe = schema["$defs"]["probe"]
    kinds = registry.kinds()
    probe["properties"]["type"] = {"enum": sorted(kinds)}
    for name in sorted(kinds):
        probe["properties"][name] = copy.deepcopy(dict(kinds[name].record_schema))
    rules = [{"if": {"properties": {"type": {"const": n}}}, "then": {"required": [n]}} for n in sorted(kinds)]
    probe["allOf"] = rules + probe.get("allOf", [])
    return schema


def text() -> str:
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    PUBLISHED.write_text(text(), encoding="utf-8")
    print(f"wrote {PUBLISHED}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
