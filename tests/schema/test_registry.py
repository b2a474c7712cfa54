"""The registry is the one place a probe kind is declared: tables, messages and schema derive from it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from prober import schema
from prober.inventory import tables
from prober.probes import registry
from tests.conftest import run_cli


class TestGeneratedSchema:
    def test_committed_schema_is_the_generated_one(self) -> None:
        """prober/schema/result.schema.json is what `python -m prober.schema` writes (run it after
        changing a kind's record section or base.schema.json)."""
        assert schema.PUBLISHED.read_text(encoding="utf-8") == schema.text()

    def test_every_kind_has_its_section_and_rule(self) -> None:
        """Each registered kind appears in `type`, has its section, and a record of it requires it."""
        generated = schema.generate()["$defs"]["probe"]
        assert generated["properties"]["type"]["enum"] == sorted(registry.kinds())
        for name, kind in registry.kinds().items():
            assert generated["properties"][name] == kind.record_schema
            rule = {"if": {"properties": {"type": {"const": name}}}, "then": {"required": [name]}}
            assert rule in generated["allOf"]


class TestDerivedTables:
    @pytest.mark.parametrize("name", sorted(registry.kinds()))
    def test_spec_fields_are_the_inventory_keys(self, name: str) -> None:
        """Every spec field but `name` is an inventory key with a converter; nothing is declared twice."""
        kind = registry.get(name)
        fields = {f.name for f in dataclasses.fields(kind.spec)} - {"name"}
        assert set(tables.converters(name)) == fields
        for spelled, field in tables.aliases(name).items():
            assert field in fields and spelled not in fields

    @pytest.mark.parametrize("name", sorted(registry.kinds()))
    def test_required_fields_have_no_default(self, name: str) -> None:
        """A field the inventory must give is one the spec cannot be built without."""
        kind = registry.get(name)
        for field in tables.required(name):
            with pytest.raises(TypeError):
                kind.spec(**{"name": "x", **{f: None for f in tables.required(name) if f != field}})

    def test_unknown_type_message_names_every_kind(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """The loader's message lists the registered kinds, not a hand-written list."""
        path = tmp_path / "inv.yaml"
        path.write_text("probes: {p: {type: gopher}}\ngroups: {g: {hosts: [a.invalid], probes: [p]}}\n")
        proc = run_cli("validate", str(path))
        assert proc.returncode == 3
        assert f"(expected {registry.names()})" in proc.stderr
        for name in registry.kinds():
            assert name in proc.stderr

    def test_records_and_secrets_come_from_the_kind(self) -> None:
        """record.py and masking.py ask the kind: a section and secrets for every registered kind."""
        for kind in registry.kinds().values():
            assert callable(kind.record) and callable(kind.secrets) and kind.record_schema["type"] == "object"
            json.dumps(kind.record_schema)  # plain JSON, as published
