"""The stdlib-only certificate reader against certificates made with `cryptography`."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cybervault.scanner.tls import describe


def make_cert(cn: str, *, issuer_cn: str | None = None, ips: list[str] = (), dns: list[str] = (),  # type: ignore[assignment]
              not_after: dt.datetime) -> bytes:  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn or cn)])
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - dt.timedelta(days=365)).not_valid_after(not_after)
    )  # fmt: skip
    names = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_expired_self_signed() -> None:
    der = make_cert("old.example", dns=["old.example"], not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
    info = describe(der, ["TLSv1.2"], "127.0.0.1")
    assert info.subject == "CN=old.example" and info.issuer == "CN=old.example"
    assert info.not_after == dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    assert info.expired and info.self_signed
    assert info.hostname_ok is None  # names no address: cannot be judged for a scan by IP


def test_ca_signed_with_address_names() -> None:
    future = dt.datetime(2040, 6, 1, 12, 0, tzinfo=dt.UTC)
    der = make_cert("svc", issuer_cn="Example CA", ips=["127.0.0.1", "::1"], not_after=future)
    ok = describe(der, ["TLSv1.3"], "127.0.0.1")
    assert not ok.expired and not ok.self_signed and ok.hostname_ok is True
    assert ok.not_after == future and ok.issuer == "CN=Example CA"
    assert describe(der, ["TLSv1.3"], "127.0.0.2").hostname_ok is False
