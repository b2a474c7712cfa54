"""The engine masks each probe's secrets (collected from its spec) in error messages and warnings."""

from __future__ import annotations

import asyncio
from typing import Any

from prober.errors import ProbeFailed
from prober.masking import Redactor
from prober.model import Job, Outcome, Result, Target
from prober.probes.http.spec import HTTPSpec
from prober.runtime.engine import MESSAGE_MAX, Engine
from tests.leaks import assert_no_leaks, new_secret

R = "<redacted>"


def run(spec: HTTPSpec, probe: Any) -> Result:
    results: list[Result] = []
    job = Job(0, Target("h", "127.0.0.1", "g"), spec)
    engine = Engine([job], results.append, concurrency=1, probe_for=lambda kind: probe, resources=None)
    asyncio.run(engine.run())
    return results[0]


class TestEngineMasks:
    def test_warning_quoting_a_header_value(self) -> None:
        """A probe whose warning quotes a secret of its spec: the recorded warning is masked."""
        key = new_secret()

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            return Outcome({}, f"server said {key} twice: {key}")

        spec = HTTPSpec(name="w", url="http://h/", headers=(("X-Api-Key", key),), retries=0)
        result = run(spec, probe)
        assert result.warning == f"server said {R} twice: {R}"

    def test_warning_cut_by_the_probe_inside_a_secret(self) -> None:
        """A warning a check already cut inside a secret (its 200-character cap) ends in the mask."""
        key = new_secret(size=30)

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            return Outcome({}, "x" * 100 + key[:12])

        spec = HTTPSpec(name="w", url=f"http://h/?token={key}", retries=0)
        result = run(spec, probe)
        assert result.warning == "x" * 100 + R

    def test_long_warning_masked_then_cut(self) -> None:
        """A warning is masked, then cut to MESSAGE_MAX characters, as an error message is."""
        key = new_secret(size=30)

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            return Outcome({}, "x" * (MESSAGE_MAX - 8) + key + "y" * 50)

        spec = HTTPSpec(name="w", url=f"http://{key}@h/", retries=0)
        result = run(spec, probe)
        assert result.warning is not None and len(result.warning) == MESSAGE_MAX
        assert result.warning.endswith(R + "…")
        assert_no_leaks({"warning": result.warning}, [key])

    def test_message_cut_by_the_probe_inside_a_secret(self) -> None:
        """A message a probe (or classify) already cut inside a secret ends in the mask."""
        key = new_secret(size=30)

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            raise ProbeFailed("assertion", "x" * 100 + key[:12])

        spec = HTTPSpec(name="w", url=f"http://h/?token={key}", retries=0)
        result = run(spec, probe)
        assert result.error is not None and result.error.message == "x" * 100 + R
        assert_no_leaks({"message": result.error.message}, [key])

    def test_long_message_masked_then_cut(self) -> None:
        """Masked before the cut to MESSAGE_MAX: a secret straddling it leaves nothing behind."""
        key = new_secret(size=30)

        async def probe(target: Any, spec: Any, res: Any) -> Outcome:
            raise ProbeFailed("assertion", "x" * (MESSAGE_MAX - 8) + key + "y" * 50)

        spec = HTTPSpec(name="w", url=f"http://{key}@h/", retries=0)
        result = run(spec, probe)
        assert result.error is not None and len(result.error.message) == MESSAGE_MAX
        assert result.error.message.endswith(R + "…")
        assert_no_leaks({"message": result.error.message}, [key])

    def test_spec_without_secrets_shares_one_empty_mask(self) -> None:
        """Most specs have nothing to hide: no mask is stored for them."""
        redactor = Redactor()
        assert not redactor.mask(HTTPSpec(name="w", url="http://h/?page=2"))
        assert redactor._masks == {}
