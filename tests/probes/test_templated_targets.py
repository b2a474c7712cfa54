"""Templated URLs against real servers: a request goes to the host and port the template names, with
the var's text as data, and never to the host a var's '@' or ':' points at."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import run_cli


class Recorder:
    """An aiohttp server on one loopback address that answers 200 and keeps what it was asked."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            {
                "path": request.path,
                "query": request.query_string,
                "auth": request.headers.get("Authorization"),
            }
        )
        return web.Response(text="ok")

    async def start(self) -> Recorder:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.address, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self


@pytest.fixture
async def servers(loopback_block: int) -> AsyncIterator[tuple[Recorder, Recorder]]:
    """The intended server on 127.B.0.1 and a decoy on 127.B.0.2 that no request may reach."""
    intended = await Recorder(f"127.{loopback_block}.0.1").start()
    decoy = await Recorder(f"127.{loopback_block}.0.2").start()
    yield intended, decoy
    await intended.runner.cleanup()
    await decoy.runner.cleanup()


async def sweep(path: Path) -> tuple[int, list[dict[str, Any]], str]:
    proc = await asyncio.to_thread(run_cli, "sweep", str(path), "--timeout", "5s")
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, [r for r in records if r["event"] == "probe"], proc.stderr


def inventory(tmp_path: Path, url: str, address: str, **variables: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(
        f"probes: {{h: {{type: http, url: {json.dumps(url)}, retries: 0}}}}\n"
        f"groups: {{g: {{vars: {json.dumps(variables)}, probes: [h],\n"
        f"  hosts: {{web01: {{address: {address}}}}}}}}}\n"
    )
    return path


class TestTemplatedTargets:
    async def test_var_pointing_at_another_host_is_refused(
        self, servers: tuple[Recorder, Recorder], tmp_path: Path
    ) -> None:
        """The issue's case: app_port "PORT@decoy:PORT" is bad input (exit 3, no record) and neither
        server is contacted; with app_port "PORT" the same inventory reaches the intended server."""
        intended, decoy = servers
        url = "http://{address}:{app_port}/health"
        bad = inventory(
            tmp_path, url, intended.address, app_port=f"{intended.port}@{decoy.address}:{decoy.port}"
        )
        code, records, err = await sweep(bad)
        assert (code, records) == (3, [])
        assert "var {app_port}" in err and "would change the port" in err and "(for host web01)" in err
        good = inventory(tmp_path, url, intended.address, app_port=str(intended.port))
        code, records, err = await sweep(good)
        assert code == 0, err
        assert [r["status"] for r in records] == ["ok"]
        assert intended.requests == [{"path": "/health", "query": "", "auth": None}]
        assert decoy.requests == []

    async def test_user_password_and_path_vars_stay_data(
        self, servers: tuple[Recorder, Recorder], tmp_path: Path
    ) -> None:
        """A user, password and path made of '@', ':', '/', '#', '?' and spaces reach the intended server
        as Basic credentials and a path, exactly as written; the decoy they name sees nothing."""
        intended, decoy = servers
        elsewhere = f"{decoy.address}:{decoy.port}"
        path = inventory(
            tmp_path,
            "http://{user}:{pw}@{address}:" + str(intended.port) + "/{p}?q={q}",
            intended.address,
            user=f"u@{elsewhere}",
            pw=f"pw@{elsewhere}/x",
            p=f"a b/@{elsewhere}#frag?x=1",
            q="1+1=2&c",
        )
        code, records, err = await sweep(path)
        assert code == 0, err
        assert [r["status"] for r in records] == ["ok"]
        assert decoy.requests == []
        (request,) = intended.requests
        assert request["path"] == f"/a b/@{elsewhere}#frag?x=1"
        assert request["query"] == "q=1%2B1=2&c"
        credentials = base64.b64decode(request["auth"].removeprefix("Basic ")).decode()
        assert credentials == f"u@{elsewhere}:pw@{elsewhere}/x"
