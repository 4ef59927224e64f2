"""A minimal DER reader for the certificate fields a scan reports (the engine stays stdlib-only)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime

_NAME_OIDS = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
}  # fmt: skip
_SAN_OID = "2.5.29.17"


@dataclass
class Certificate:
    subject: str
    issuer: str
    subject_cn: str | None
    not_before: datetime | None
    not_after: datetime | None
    dns_names: list[str] = field(default_factory=list)
    ip_addresses: list[str] = field(default_factory=list)
    raw_subject: bytes = b""
    raw_issuer: bytes = b""


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the element at pos."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, vs, ve = _tlv(data, start)
        out.append((tag, vs, ve))
        start = ve
    return out


def _oid(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for b in raw[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _time(tag: int, raw: bytes) -> datetime | None:
    text = raw.decode("ascii", "replace")
    fmt = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def _name(data: bytes, start: int, end: int) -> tuple[str, str | None]:
    parts, cn = [], None
    for _, rs, re_ in _children(data, start, end):  # RDN sets
        for _, as_, ae in _children(data, rs, re_):  # AttributeTypeAndValue
            (_, os_, oe), (_, vs, ve) = _children(data, as_, ae)[:2]
            key = _NAME_OIDS.get(_oid(data[os_:oe]), _oid(data[os_:oe]))
            value = data[vs:ve].decode("utf-8", "replace")
            parts.append(f"{key}={value}")
            if key == "CN":
                cn = value
    return ", ".join(parts), cn


def parse_certificate(der: bytes) -> Certificate:
    _, cs, ce = _tlv(der, 0)
    _, ts, te = _children(der, cs, ce)[0]  # tbsCertificate
    fields = _children(der, ts, te)
    if fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    issuer_t, validity_t, subject_t = fields[2], fields[3], fields[4]
    issuer, _ = _name(der, issuer_t[1], issuer_t[2])
    subject, cn = _name(der, subject_t[1], subject_t[2])
    times = _children(der, validity_t[1], validity_t[2])
    cert = Certificate(
        subject=subject,
        issuer=issuer,
        subject_cn=cn,
        not_before=_time(times[0][0], der[times[0][1] : times[0][2]]),
        not_after=_time(times[1][0], der[times[1][1] : times[1][2]]),
        raw_subject=der[subject_t[1] : subject_t[2]],
        raw_issuer=der[issuer_t[1] : issuer_t[2]],
    )
    for tag, vs, ve in fields[5:]:
        if tag != 0xA3:  # extensions
            continue
        (_, ls, le) = _children(der, vs, ve)[0]
        for _, es, ee in _children(der, ls, le):
            parts = _children(der, es, ee)
            if der[parts[0][1] : parts[0][2]] and _oid(der[parts[0][1] : parts[0][2]]) == _SAN_OID:
                _, os_, oe = parts[-1]
                _, ss, se = _tlv(der, os_)
                for gtag, gs, ge in _children(der, ss, se):
                    if gtag == 0x82:
                        cert.dns_names.append(der[gs:ge].decode("ascii", "replace"))
                    elif gtag == 0x87:
                        cert.ip_addresses.append(str(ipaddress.ip_address(der[gs:ge])))
    return cert
