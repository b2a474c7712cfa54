"""The shortcuts taken for speed give exactly what the slow, obvious code gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from prober import authority
from prober.inventory import hostnames
from prober.record import iso_ts
from prober.templating import _pieces, resolve_one

TEMPLATES = [
    "http://{address}:8080/health",
    "https://{host}/{path}",
    "http://{address}:{port}/",
    "http://[{address}]/",
    "{scheme}://{address}/",
    "http://user@{address}/x?q={path}",
    "http://{address}{path}",
]
VALUES = st.text(alphabet="ab1.-_:/@[]%?# {}", min_size=0, max_size=8)


def _is_host(name: str) -> bool:
    try:
        hostnames.check_host(name)
    except ValueError:
        return False
    return True


# {address} and {host} are checked host names by the time they are templated (the loader refuses others).
HOSTS = st.one_of(VALUES.filter(_is_host), st.ip_addresses().map(str))


def _slow_url(template: str, variables: dict[str, str]) -> str | None:
    """Every URL through the full per-host check (yarl parse, host and port compared): no shortcut."""
    literals, names = _pieces(template)
    shape = replace(authority.form(template, literals, names), trusted=False)
    try:
        return authority._checked_url(shape, literals, names, [variables[n] for n in names])
    except ValueError:
        return None


class TestTimestamps:
    """Record timestamps, formatted once per second."""

    @given(st.floats(min_value=0, max_value=4e9))
    def test_iso_ts_matches_datetime(self, epoch: float) -> None:
        """The cached-prefix timestamp equals datetime's own formatting, milliseconds included."""
        expected = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        assert iso_ts(epoch) == expected

    def test_iso_ts_new_second(self) -> None:
        """Crossing into the next second changes the cached prefix, not just the milliseconds."""
        assert iso_ts(1_800_000_000.999) == "2027-01-15T08:00:00.999Z"
        assert iso_ts(1_800_000_001.0) == "2027-01-15T08:00:01.000Z"


class TestTemplatedUrls:
    """The full per-host URL check is skipped only where it could not fail (a trusted form)."""

    @given(st.sampled_from(TEMPLATES), HOSTS, VALUES, VALUES)
    def test_same_verdict_as_full_check(self, template: str, address: str, path: str, port: str) -> None:
        """Every templated URL is accepted or refused, and rendered, exactly as the full check would."""
        variables = {"address": address, "host": address, "path": path, "port": port, "scheme": path}
        expected = _slow_url(template, variables)
        try:
            got = resolve_one("url", template, variables)
        except ValueError:
            got = None
        assert got == expected

    def test_bad_value_in_port_refused(self) -> None:
        """A letter landing in the port position is still refused after templating."""
        try:
            resolve_one("url", "http://{address}:{port}/", {"address": "a", "port": "x"})
        except ValueError as exc:
            assert "var {port} = 'x' would change the port" in str(exc)
        else:
            raise AssertionError("a non-numeric port was accepted")
