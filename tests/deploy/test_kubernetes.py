"""deploy/kubernetes/: the manifests validate offline against Kubernetes' own schemas, and what they
run is what prober accepts: the command lines parse with prober's parser, the shard count matches
the Job's completions, the merge Job reads every file the sweep Job writes, the inventory in the
ConfigMap validates, and every variable it names comes from the Secret."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from prober.cli import COMMAND_NAMES, build_parser
from tests.conftest import ROOT, run_cli

kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install -e '.[test]'")

DEPLOY = ROOT / "deploy" / "kubernetes"
MANIFESTS = sorted(DEPLOY.glob("*.yaml"))
# The oldest Kubernetes the manifests are for (podFailurePolicy is GA from 1.31) and the newest known.
VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kind(kind: str, name: str) -> dict[str, Any]:
    found = [d for p in MANIFESTS for d in _docs(p) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def _container(job: dict[str, Any]) -> dict[str, Any]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return dict(container)


def _argv(container: dict[str, Any], index: int = 0) -> list[str]:
    """The container's command line as the kubelet runs it: $(VAR) expanded from its env."""
    values = {"JOB_COMPLETION_INDEX": str(index)}
    words = container["command"] + container.get("args", [])
    return [_VAR.sub(lambda m: values[m.group(1)], word) for word in words]


def test_there_are_manifests() -> None:
    names = {path.name for path in MANIFESTS}
    assert {"sweep-job.yaml", "merge-job.yaml", "inventory-configmap.yaml", "results-pvc.yaml"} <= names


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_valid_for_kubernetes(path: Path, version: str) -> None:
    """Each document is valid for that Kubernetes version, strictly: no unknown or misplaced field."""
    for doc in _docs(path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_validation_catches_a_misplaced_field() -> None:
    """The check can fail: a field in the wrong place is refused (so a typo would be caught)."""
    job = _kind("Job", "prober-sweep")
    job["spec"]["template"]["spec"]["completionMode"] = "Indexed"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, VERSIONS[-1], strict=True)


class TestCommandLines:
    @pytest.mark.parametrize("job", ["prober-sweep", "prober-merge"])
    def test_prober_parses_them(self, job: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each Job's command is `prober COMMAND ...` that prober's own parser accepts (as in pod 0)."""
        monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
        argv = _argv(_container(_kind("Job", job)))
        assert argv[0] == "prober" and argv[1] in COMMAND_NAMES
        args = build_parser().parse_args(argv[1:])
        assert args.command == argv[1]

    def test_the_shard_count_is_the_jobs(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """--shard auto/N with N = completions = parallelism, and every index a valid shard."""
        job = _kind("Job", "prober-sweep")
        spec = job["spec"]
        assert spec["completionMode"] == "Indexed"
        assert spec["template"]["spec"]["restartPolicy"] == "Never"
        count = spec["completions"]
        assert spec["parallelism"] == count
        for index in range(count):
            monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
            args = build_parser().parse_args(_argv(_container(job), index)[1:])
            assert (args.shard.index, args.shard.count) == (index, count)

    def test_merge_reads_every_shard_file(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The merge Job's inputs are exactly the --tee files of indexes 0..N-1, on the same claim."""
        sweep, merge = _kind("Job", "prober-sweep"), _kind("Job", "prober-merge")
        count = sweep["spec"]["completions"]
        written = []
        for index in range(count):
            monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
            written.append(build_parser().parse_args(_argv(_container(sweep), index)[1:]).tee)
        merged = build_parser().parse_args(_argv(_container(merge))[1:])
        assert merged.shards == written and len(set(written)) == count
        assert merged.output not in written

        def claim(job: dict[str, Any]) -> set[str]:
            volumes = job["spec"]["template"]["spec"]["volumes"]
            return {v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v}

        assert claim(sweep) == claim(merge) == {"prober-results"}
        _kind("PersistentVolumeClaim", "prober-results")

    def test_bad_input_fails_the_job_at_once(self) -> None:
        """Exit 3 (bad input) fails the whole Job instead of retrying every index."""
        rules = _kind("Job", "prober-sweep")["spec"]["podFailurePolicy"]["rules"]
        assert any(r["action"] == "FailJob" and r.get("onExitCodes", {}).get("values") == [3] for r in rules)


class TestInventory:
    def test_the_configmap_inventory_validates(self, tmp_path: Path) -> None:
        """The inventory the pods read passes `prober validate` and plans shard 0 of the Job's N
        (its known_hosts path pointed at a copy of the ConfigMap's)."""
        data = _kind("ConfigMap", "prober-inventory")["data"]
        (tmp_path / "known_hosts").write_text(data["known_hosts"])
        inventory = tmp_path / "inventory.yaml"
        text = data["inventory.yaml"].replace("/etc/prober/known_hosts", str(tmp_path / "known_hosts"))
        inventory.write_text(text)
        count = _kind("Job", "prober-sweep")["spec"]["completions"]
        proc = run_cli("validate", str(inventory), "--shard", f"0/{count}")
        assert proc.returncode == 0 and "ok:" in proc.stderr, proc.stderr

    def test_it_is_where_the_sweep_reads_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
        container = _container(job := _kind("Job", "prober-sweep"))
        path = Path(build_parser().parse_args(["sweep", *_argv(container)[2:]]).inventory)
        (mount,) = [m for m in container["volumeMounts"] if path.parent == Path(m["mountPath"])]
        (volume,) = [v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
        assert volume["configMap"]["name"] == "prober-inventory"
        assert path.name in _kind("ConfigMap", "prober-inventory")["data"]

    def test_every_secret_variable_comes_from_the_secret(self) -> None:
        """Each variable the inventory reads (headers_env, password_env) is set in the sweep's env from
        a key the Secret has: none is left unset, none is written in a manifest."""
        inventory = yaml.safe_load(_kind("ConfigMap", "prober-inventory")["data"]["inventory.yaml"])
        named = set()
        for probe in inventory["probes"].values():
            named |= set(probe.get("headers_env", {}).values())
            named |= {probe[key] for key in ("password_env", "passphrase_env", "send_env") if key in probe}
        assert named
        env = {e["name"]: e for e in _container(_kind("Job", "prober-sweep"))["env"]}
        secret = _kind("Secret", "prober-secrets")
        for name in named:
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "prober-secrets" and ref["key"] in secret["stringData"]


def test_the_containerfile_is_a_plain_pip_install() -> None:
    """The image installs this checkout with pip and nothing else, from files that exist."""
    lines = [line for line in (DEPLOY / "Containerfile").read_text().splitlines() if line and line[0] != "#"]
    runs = [line for line in lines if line.startswith("RUN ")]
    assert len(runs) == 1 and shlex.split(runs[0])[1:4] == ["pip", "install", "--no-cache-dir"]
    for line in lines:
        if line.startswith("COPY "):
            for source in shlex.split(line)[1:-1]:
                assert (ROOT / source).exists(), source
    users = [line.split()[1].split(":")[0] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("0", "root")  # never runs as root
