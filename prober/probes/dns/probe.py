"""The DNS probe: one query (dnspython's asyncio query functions), its reply judged by rcode and answers.

dnspython's own errors are translated here, at the one place they can come from: a reply that cannot
be parsed or does not answer the query (wrong id or question) is `protocol`; the connection closed
before the TCP reply is `reset`. A closed port is `refused` on TCP (RST) and on UDP too: the socket
is connected, so the kernel hands back the ICMP port unreachable (an unconnected one, dnspython's
default, would wait for the deadline). No timeout is given to dnspython: the engine's deadline
cancels the query, and every socket is closed on the way out (tests/probes/test_dns_edges.py counts fds).
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import dns.asyncbackend
import dns.asyncquery
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.query  # loaded by dns.asyncquery: BadResponse is defined there
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from prober.errors import ProbeFailed
from prober.model import Outcome, Target
from prober.probes.dns.spec import ANSWER_TEXT_MAX, ANSWERS_SHOWN, DNSSpec, split_server
from prober.probes.dns.system import system_server
from prober.regex import Pattern, utf8_text

if TYPE_CHECKING:
    from prober.runtime.resources import Resources

async def _udp(query: dns.message.Message, address: str, port: int) -> tuple[dns.message.Message, str]:
    """Over UDP from a connected socket; a truncated reply (TC) is asked again over TCP."""
    backend = dns.asyncbackend.get_backend("asyncio")
    family = dns.inet.af_for_address(address)
    # dnspython 2.9 leaves Backend.make_socket unannotated.
    sock = await backend.make_socket(family, socket.SOCK_DGRAM, 0, None, (address, port))  # type: ignore[no-untyped-call]
    try:
        reply, used_tcp = await dns.asyncquery.udp_with_fallback(
            query, address, port=port, udp_sock=sock, backend=backend
        )
    finally:
        await sock.close()
    return reply, "tcp" if used_tcp else "udp"


async def _exchange(
    query: dns.message.Message, server: str, transport: str
) -> tuple[dns.message.Message, str]:
    """The reply and the transport that brought it; dnspython's errors as prober's kinds."""
    address, port = split_server(server)
    try:
        if transport == "tcp":
            backend = dns.asyncbackend.get_backend("asyncio")
            return await dns.asyncquery.tcp(query, address, port=port, backend=backend), "tcp"
        return await _udp(query, address, port)
    except EOFError:
        message = "the server closed the connection before its reply"
        raise ProbeFailed("reset", message, server=server) from None
    except dns.exception.Timeout:  # only with a dnspython timeout, which is never given
        raise TimeoutError from None
    except dns.query.BadResponse:
        message = "the reply does not answer the query (another id or question)"
        raise ProbeFailed("protocol", message, server=server) from None
    except dns.exception.DNSException as exc:  # FormError, ShortHeader, BadPointer, TrailingJunk...
        reason = str(exc).rstrip(".") or type(exc).__name__
        raise ProbeFailed("protocol", f"malformed reply: {reason}", server=server) from None


def answer_texts(reply: dns.message.Message) -> list[str]:
    """Each answer as dig and blackbox_exporter print it: name, TTL, class, type, data, tab-separated."""
    texts = []
    for rrset in reply.answer:
        head = f"{rrset.name}\t{rrset.ttl}\t{dns.rdataclass.to_text(rrset.rdclass)}\t"
        head += f"{dns.rdatatype.to_text(rrset.rdtype)}\t"
        texts += [head + rdata.to_text() for rdata in rrset]
    return texts


def _shown(texts: list[str]) -> list[str]:
    kept = texts[:ANSWERS_SHOWN]
    return [t if len(t) <= ANSWER_TEXT_MAX else t[: ANSWER_TEXT_MAX - 1] + "…" for t in kept]


def _matches(pattern: Pattern, text: str) -> bool:
    return pattern.search(utf8_text(text.encode("utf-8", "replace")))


def _judge(spec: DNSSpec, texts: list[str], details: dict[str, Any], res: Resources) -> None:
    """ProbeFailed("assertion") unless the rcode is expected, one answer matches `expect` and every
    answer matches `expect_all`; no answer at all matches neither (as blackbox_exporter)."""
    rcode = details["rcode"]
    if rcode not in spec.expect_rcode:
        raise ProbeFailed("assertion", f"rcode {rcode}, expected {' or '.join(spec.expect_rcode)}", **details)
    if spec.expect is not None:
        pattern = res.pattern(spec.expect)
        if not any(_matches(pattern, text) for text in texts):
            which = "no answer" if not texts else f"none of {len(texts)} answers"
            raise ProbeFailed("assertion", f"{which} matched expect {spec.expect!r}", **details)
    if spec.expect_all is not None:
        if not texts:
            raise ProbeFailed("assertion", f"no answer to match expect_all {spec.expect_all!r}", **details)
        pattern = res.pattern(spec.expect_all)
        for text in texts:
            if not _matches(pattern, text):
                quoted = _shown([text.replace("\t", " ")])[0][:120]
                raise ProbeFailed("assertion", f"answer {quoted!r} did not match expect_all", **details)


async def probe(target: Target, spec: DNSSpec, res: Resources) -> Outcome:
    """Ask `server` for (query_name or the host's name, query_type); judge rcode and answers."""
    server = spec.server or system_server(res.prepared)
    query = dns.message.make_query(spec.query_name or target.name, spec.query_type)  # RD set, no EDNS
    reply, transport = await _exchange(query, server, spec.transport)
    texts = answer_texts(reply)
    details: dict[str, Any] = {
        "rcode": dns.rcode.to_text(reply.rcode()),
        "answers": _shown(texts),
        "answer_rrs": len(texts),
        "authority_rrs": sum(len(rrset) for rrset in reply.authority),
        "additional_rrs": sum(len(rrset) for rrset in reply.additional),
        "server": server,
        "transport": transport,
    }
    _judge(spec, texts, details, res)
    return Outcome(details)
