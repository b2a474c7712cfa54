"""`labels:` in defaults and groups: the listed vars in every record as `labels: {...}` (schema-valid,
read by the Prometheus sink); bad lists refused at file:line."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from prober.sinks.prom import load_jsonl
from tests.cli.conftest import Lab, probes, records
from tests.conftest import ROOT, run_cli
from tests.gate.helpers import sweep, write

SCHEMA = json.loads((ROOT / "prober" / "schema" / "result.schema.json").read_text())


class TestLabels:
    @pytest.mark.parametrize("workers", ["1", "2"])
    def test_listed_vars_in_every_record(self, lab: Lab, tmp_path: Path, workers: str) -> None:
        """defaults' labels [dc] plus web's [team, rack]: each record carries those vars as text (a
        host's own var wins; a host without `rack` has no rack label); db only gets dc."""
        lab.add("web", "http_ok", 2)
        lab.add("db", "http_ok", 1)
        inventory = write(
            lab,
            {"web": {"labels": ["team", "rack"], "vars": {"team": "alpha"}}, "db": {}},
            defaults={"labels": ["dc"], "vars": {"dc": "eu-1"}},
        )
        text = inventory.read_text()
        first = lab.hosts["web"][0]
        text = text.replace(f"{first[0]}: {{address: {first[1]}}}",
                            f"{first[0]}: {{address: {first[1]}, vars: {{rack: 12, dc: eu-2}}}}")  # fmt: skip
        inventory.write_text(text)
        out = tmp_path / "out.jsonl"
        proc, _ = sweep(str(inventory), "-o", str(out), "--workers", workers)
        assert proc.returncode == 0, proc.stderr
        lines = records(out.read_text())
        labels = {r["host"]: r.get("labels") for r in probes(lines)}
        assert labels[first[0]] == {"dc": "eu-2", "team": "alpha", "rack": "12"}
        assert labels[lab.hosts["web"][1][0]] == {"dc": "eu-1", "team": "alpha"}
        assert labels[lab.hosts["db"][0][0]] == {"dc": "eu-1"}
        for line in lines:
            jsonschema.validate(line, SCHEMA)
        metrics = load_jsonl(str(out)).render().decode()
        assert f'host="{first[0]}"' in metrics and 'rack="12"' in metrics and 'team="alpha"' in metrics

    def test_plan_shows_the_labels_records_will_carry(self) -> None:
        """`prober plan` on inventories/gate.yaml: batch hosts get dc, team and queue; web's team wins."""
        proc = run_cli("plan", "inventories/gate.yaml")
        plans = {r["host"]: r.get("labels") for r in map(json.loads, proc.stdout.splitlines())}
        assert plans["batch01.example.com"] == {"dc": "eu-1", "team": "platform", "queue": "nightly"}
        assert plans["web01.example.com"] == {"dc": "eu-1", "team": "web"}
        assert plans["db01"] == {"dc": "eu-1", "team": "platform"}

    def test_no_labels_no_key(self, lab: Lab) -> None:
        lab.add("web", "http_ok", 1)
        _, lines = sweep(str(write(lab, {"web": {}})))
        assert "labels" not in probes(lines)[0]


class TestBadLabels:
    @pytest.mark.parametrize(
        ("labels", "message"),
        [
            ("dc", "groups.web.labels: expected a list of var names"),
            (["host"], "groups.web.labels[0]: 'host' is in every record already"),
            (["1dc"], "groups.web.labels[0]: expected a var name"),
            (["team", "tema"], "groups.web.labels[1]: var 'tema' is not set in any vars this applies to"),
        ],
    )
    def test_refused_at_their_line(self, lab: Lab, labels: object, message: str) -> None:
        """A labels list that is not a list of var names, or names a var set nowhere (a typo): exit 3."""
        lab.add("web", "http_ok", 1)
        inventory = write(lab, {"web": {"labels": labels, "vars": {"team": "a"}}})
        line = inventory.read_text().splitlines().index(f"    labels: {json.dumps(labels)}") + 1
        proc = run_cli("validate", str(inventory))
        assert proc.returncode == 3
        assert f"{inventory}:{line}: {message}" in proc.stderr
