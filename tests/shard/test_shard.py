"""Sharding a plan by host: rendezvous hashing keeps a host whole, balances, and moves ~1/(N+1) on N→N+1."""

from __future__ import annotations

from collections import Counter

import pytest

from prober.inventory.loader import load_inventory
from prober.plan import build_plan, settings_for
from prober.shard import Fingerprint, Shard, owner, parse

HOSTS = [f"web{i:05d}.example.com" for i in range(20_000)]


class TestParse:
    @pytest.mark.parametrize(
        ("text", "shard"), [("0/1", Shard(0, 1)), ("3/4", Shard(3, 4)), (" 2 / 8 ", Shard(2, 8))]
    )
    def test_index_of_count(self, text: str, shard: Shard) -> None:
        """I/N counts shards from 0, as Kubernetes' completion index does."""
        assert parse(text, {}) == shard

    def test_auto_reads_the_completion_index(self) -> None:
        """auto/N takes I from $JOB_COMPLETION_INDEX, as a pod of an Indexed Job has it."""
        assert parse("auto/4", {"JOB_COMPLETION_INDEX": "2"}) == Shard(2, 4)

    @pytest.mark.parametrize(
        ("text", "env", "message"),
        [
            ("4/4", {}, "not below the shard count"),
            ("1/0", {}, "between 1 and"),
            ("a/4", {}, "expected I/N"),
            ("-1/4", {}, "expected I/N"),
            ("auto/4", {}, "JOB_COMPLETION_INDEX"),
            ("auto/4", {"JOB_COMPLETION_INDEX": "x"}, "JOB_COMPLETION_INDEX"),
            ("auto/4", {"JOB_COMPLETION_INDEX": "4"}, "not below"),
        ],
    )
    def test_bad_shards_say_why(self, text: str, env: dict[str, str], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            parse(text, env)


class TestRendezvous:
    def test_every_host_has_exactly_one_owner(self) -> None:
        """Each shard decides alone, and together they cover every host exactly once."""
        for count in (1, 2, 5):
            owners = [sum(Shard(i, count).owns(h) for i in range(count)) for h in HOSTS[:2000]]
            assert owners == [1] * 2000

    @pytest.mark.parametrize("count", [2, 4, 8])
    def test_balanced(self, count: int) -> None:
        """Shards get about the same number of hosts (within 10% of the mean for 20,000 hosts)."""
        sizes = Counter(owner(h, count) for h in HOSTS)
        mean = len(HOSTS) / count
        assert set(sizes) == set(range(count))
        assert all(abs(size - mean) < 0.1 * mean for size in sizes.values()), sizes

    @pytest.mark.parametrize("count", [1, 3, 4, 9])
    def test_growing_by_one_moves_about_one_in_n_plus_one(self, count: int) -> None:
        """N → N+1 moves only hosts that go to the new shard: about 1/(N+1) of them, none elsewhere."""
        moved = [(owner(h, count), owner(h, count + 1)) for h in HOSTS]
        changed = [(a, b) for a, b in moved if a != b]
        assert all(b == count for _, b in changed)  # only to the new shard
        share = len(changed) / len(HOSTS)
        assert abs(share - 1 / (count + 1)) < 0.02, share

    def test_same_answer_everywhere(self) -> None:
        """The owner depends on the name alone (BLAKE2b and SplitMix64, no per-process hash seed): these
        values are the algorithm's, pinned so that a change to it (which would move hosts between
        machines mid-rollout, and break merging shards made by two prober versions) fails here."""
        assert [owner(f"h{i}", 7) for i in range(12)] == [2, 4, 1, 4, 6, 6, 6, 1, 3, 2, 5, 3]
        assert [owner(h, 4) for h in ("a", "web01.example.com", "10.0.0.1")] == [3, 0, 0]


def _inventory(tmp_path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "inv.yaml"
    path.write_text(text)
    inventory = load_inventory(str(path))
    return inventory, settings_for(inventory)


class TestShardedPlan:
    def test_shards_partition_the_plan_by_host(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Three shards' plans are disjoint, cover every job, and keep each host's probes together."""
        inventory, settings = _inventory(
            tmp_path,
            "probes: {a: {type: tcp, port: 1}, b: {type: tcp, port: 2}}\n"
            'groups: {g: {hosts: ["h[1:300].invalid"], probes: [a, b]}}\n',
        )
        whole = {(j.target.name, j.spec.name) for j in build_plan(inventory, settings)}
        parts = [build_plan(inventory, settings, shard=Shard(i, 3)) for i in range(3)]
        seen = [(j.target.name, j.spec.name) for part in parts for j in part]
        assert len(seen) == len(set(seen)) and set(seen) == whole
        hosts = [{j.target.name for j in part} for part in parts]
        assert not (hosts[0] & hosts[1] or hosts[1] & hosts[2] or hosts[0] & hosts[2])
        assert all(part and [j.index for j in part] == list(range(len(part))) for part in parts)

    def test_fingerprint_is_of_the_whole_plan(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Every shard computes the same fingerprint; another inventory or setting gives another."""
        text = 'probes: {a: {type: tcp, port: 1}}\ngroups: {g: {hosts: ["h[1:50].invalid"], probes: [a]}}\n'
        inventory, settings = _inventory(tmp_path, text)
        digests = set()
        for i in range(3):
            fingerprint = Fingerprint(settings, 3)
            build_plan(inventory, settings, shard=Shard(i, 3), fingerprint=fingerprint)
            digests.add(fingerprint.hexdigest())
        assert len(digests) == 1
        other, _ = _inventory(tmp_path, text.replace("port: 1", "port: 2"))
        changed = Fingerprint(settings, 3)
        build_plan(other, settings, shard=Shard(0, 3), fingerprint=changed)
        assert changed.hexdigest() not in digests
        flag = Fingerprint(settings_for(inventory, timeout=9.0), 3)
        build_plan(inventory, settings, fingerprint=flag)
        assert flag.hexdigest() not in digests
