"""tlscert.not_after against generated certificates: UTCTime, GeneralizedTime, malformed input."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from prober.probes.http import tlscert


def der_cert(not_after: dt.datetime, *, cn: str = "t.test", sans: int = 0) -> bytes:
    """A self-signed DER certificate expiring at `not_after` (with `sans` names to grow the DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(1990, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(not_after)
    )
    if sans:
        names = [x509.DNSName(f"host{i}.example.test") for i in range(sans)]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class TestNotAfter:
    @pytest.mark.parametrize(
        "when",
        [
            dt.datetime(2031, 5, 17, 12, 30, 45, tzinfo=dt.UTC),  # UTCTime, 20xx
            dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # UTCTime, 19xx (YY >= 50)
            dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # last UTCTime year
            dt.datetime(2050, 1, 1, 0, 0, 0, tzinfo=dt.UTC),  # GeneralizedTime from 2050 on
            dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),  # RFC 5280's "no expiry"
        ],
    )
    def test_matches_the_encoded_date(self, when: dt.datetime) -> None:
        """not_after returns the certificate's notAfter as a Unix timestamp, for either time encoding."""
        assert tlscert.not_after(der_cert(when)) == when.timestamp()

    def test_uses_the_encoding_it_claims(self) -> None:
        """The test certificates really carry UTCTime (tag 0x17) before 2050 and GeneralizedTime after."""
        assert b"\x17\x0d311231" in der_cert(dt.datetime(2031, 12, 31, tzinfo=dt.UTC))
        assert b"\x18\x0f20600101" in der_cert(dt.datetime(2060, 1, 1, tzinfo=dt.UTC))

    def test_long_form_lengths(self) -> None:
        """A certificate large enough for multi-byte DER lengths (many SANs) still parses."""
        when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        der = der_cert(when, sans=400)
        assert len(der) > 65536 // 8
        assert tlscert.not_after(der) == when.timestamp()

    @pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x82\x01", b"\x30\x03\x02\x01\x01", b"garbage" * 10])
    def test_malformed_input_raises_value_or_index_error(self, der: bytes) -> None:
        """Malformed DER raises one of the errors days_left turns into a tls failure, never anything else."""
        with pytest.raises((ValueError, IndexError, UnicodeDecodeError)):
            tlscert.not_after(der)
