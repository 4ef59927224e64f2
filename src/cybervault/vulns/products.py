"""Product identity: the names banners and nmap use, mapped onto NVD's vendor/product names.

Scanners and NVD disagree on names (nmap's `igor_sysoev:nginx` is NVD's `f5:nginx`, `mysql:mysql` is
`oracle:mysql`). Lookups normalise the product name and treat vendors in one group as the same vendor.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "UPDATE_FIELD_PRODUCTS",
    "canonical_product",
    "infer_sw_edition",
    "normalise_name",
    "product_group",
    "vendor_group",
    "vendors_equivalent",
]

# Each set names one vendor as the various sources spell it.
_VENDOR_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"f5", "igor_sysoev", "nginx", "f5_networks"}),
    frozenset({"redis", "redislabs", "redis_labs", "pivotal"}),
    frozenset({"oracle", "mysql", "mysql_ab", "sun"}),
    frozenset({"vmware", "pivotal_software", "rabbitmq", "broadcom"}),
    frozenset({"vsftpd_project", "vsftpd", "beasts"}),
    frozenset({"elastic", "elasticsearch"}),
    frozenset({"openbsd", "openssh", "opensmtpd"}),
    frozenset({"ivanti", "pulsesecure", "pulse_secure", "juniper"}),
    frozenset({"citrix", "cloud_software_group"}),
    frozenset({"zimbra", "synacor"}),
    frozenset({"eclipse", "mortbay", "jetty"}),
    frozenset({"webmin", "usermin"}),
    frozenset({"jenkins", "cloudbees"}),
    frozenset({"mariadb"}),
    frozenset({"mongodb", "10gen"}),
    frozenset({"postgresql", "postgres"}),
    frozenset({"pureftpd", "pure-ftpd", "pure_ftpd", "pureftpd_project"}),
    frozenset({"exim"}),
    frozenset({"postfix", "wietse_venema"}),
    frozenset({"sendmail", "proofpoint"}),
    frozenset({"dovecot", "open-xchange"}),
    frozenset({"samba"}),
    frozenset({"proftpd", "proftpd_project"}),
    frozenset({"fortinet"}),
    frozenset({"microsoft"}),
    frozenset({"apache"}),
    frozenset({"openssl"}),
)
_GROUP_OF: dict[str, frozenset[str]] = {v: g for g in _VENDOR_GROUPS for v in g}

# Banner / nmap product names -> (NVD vendor, NVD product).
_PRODUCT_NAMES: dict[str, tuple[str, str]] = {
    "openssh": ("openbsd", "openssh"),
    "apache httpd": ("apache", "http_server"),
    "apache http server": ("apache", "http_server"),
    "apache": ("apache", "http_server"),
    "httpd": ("apache", "http_server"),
    "http_server": ("apache", "http_server"),
    "nginx": ("f5", "nginx"),
    "microsoft iis httpd": ("microsoft", "internet_information_services"),
    "microsoft-iis": ("microsoft", "internet_information_services"),
    "iis": ("microsoft", "internet_information_services"),
    "internet_information_server": ("microsoft", "internet_information_services"),
    "apache tomcat": ("apache", "tomcat"),
    "tomcat": ("apache", "tomcat"),
    "apache-coyote": ("apache", "tomcat"),
    "apache struts": ("apache", "struts"),
    "struts": ("apache", "struts"),
    "jetty": ("eclipse", "jetty"),
    "vsftpd": ("vsftpd_project", "vsftpd"),
    "proftpd": ("proftpd", "proftpd"),
    "pure-ftpd": ("pureftpd", "pure-ftpd"),
    "pure_ftpd": ("pureftpd", "pure-ftpd"),
    "exim": ("exim", "exim"),
    "exim smtpd": ("exim", "exim"),
    "postfix": ("postfix", "postfix"),
    "postfix smtpd": ("postfix", "postfix"),
    "sendmail": ("sendmail", "sendmail"),
    "opensmtpd": ("openbsd", "opensmtpd"),
    "dovecot": ("dovecot", "dovecot"),
    "dovecot imapd": ("dovecot", "dovecot"),
    "dovecot pop3d": ("dovecot", "dovecot"),
    "samba": ("samba", "samba"),
    "samba smbd": ("samba", "samba"),
    "redis": ("redis", "redis"),
    "redis key-value store": ("redis", "redis"),
    "postgresql": ("postgresql", "postgresql"),
    "postgresql db": ("postgresql", "postgresql"),
    "mysql": ("oracle", "mysql"),
    "mariadb": ("mariadb", "mariadb"),
    "mongodb": ("mongodb", "mongodb"),
    "elasticsearch": ("elastic", "elasticsearch"),
    "elasticsearch rest api": ("elastic", "elasticsearch"),
    "rabbitmq": ("vmware", "rabbitmq"),
    "activemq": ("apache", "activemq"),
    "apache activemq": ("apache", "activemq"),
    "mosquitto": ("eclipse", "mosquitto"),
    "mosquitto mqtt broker": ("eclipse", "mosquitto"),
    "openssl": ("openssl", "openssl"),
    "webmin": ("webmin", "webmin"),
    "miniserv": ("webmin", "webmin"),
    "jenkins": ("jenkins", "jenkins"),
    "fortios": ("fortinet", "fortios"),
    "fortigate": ("fortinet", "fortios"),
    "pulse connect secure": ("ivanti", "connect_secure"),
    "ivanti connect secure": ("ivanti", "connect_secure"),
    "pulse_connect_secure": ("ivanti", "connect_secure"),
    "connect_secure": ("ivanti", "connect_secure"),
    "citrix adc": ("citrix", "netscaler_application_delivery_controller"),
    "netscaler": ("citrix", "netscaler_application_delivery_controller"),
    "microsoft exchange": ("microsoft", "exchange_server"),
    "exchange": ("microsoft", "exchange_server"),
    "exchange_server": ("microsoft", "exchange_server"),
    "zimbra": ("zimbra", "collaboration"),
    "zimbra collaboration suite": ("zimbra", "collaboration"),
}

# Product names NVD has used for the same product over the years.
_PRODUCT_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"pulse_connect_secure", "connect_secure"}),
    frozenset(
        {
            "netscaler_application_delivery_controller",
            "application_delivery_controller",
            "application_delivery_controller_firmware",
            "netscaler_application_delivery_controller_firmware",
            "netscaler_gateway",
            "netscaler_gateway_firmware",
        }
    ),
    frozenset({"internet_information_services", "internet_information_server"}),
    frozenset({"mysql", "mysql_server"}),  # Oracle's newer records (e.g. CVE-2021-3449) say mysql_server
    frozenset({"collaboration", "collaboration_suite", "zimbra_collaboration_suite"}),
)
_PRODUCT_GROUP_OF: dict[str, frozenset[str]] = {p: g for g in _PRODUCT_GROUPS for p in g}

# Products whose NVD CPEs keep the patch level in the *update* field (openssh:8.5:p1, proftpd:1.3.3:c);
# NVD compares their version ranges on the version field alone.
UPDATE_FIELD_PRODUCTS: frozenset[str] = frozenset({"openssh", "proftpd"})

_WS = re.compile(r"[\s]+")


def normalise_name(name: str) -> str:
    return _WS.sub(" ", name.strip().lower())


@lru_cache(maxsize=8192)
def vendor_group(vendor: str) -> frozenset[str]:
    v = normalise_name(vendor)
    return _GROUP_OF.get(v, frozenset({v}))


@lru_cache(maxsize=8192)
def product_group(product: str) -> frozenset[str]:
    p = normalise_name(product).replace(" ", "_")
    return _PRODUCT_GROUP_OF.get(p, frozenset({p}))


@lru_cache(maxsize=16384)
def vendors_equivalent(a: str, b: str) -> bool:
    a, b = normalise_name(a), normalise_name(b)
    return a == b or b in _GROUP_OF.get(a, frozenset())


def infer_sw_edition(product: str, version: str) -> str:
    """NVD splits Jenkins into weekly (sw_edition "-") and LTS ("lts") lines; LTS versions have 3 parts."""
    if product == "jenkins":
        return "lts" if version.count(".") >= 2 else "-"
    return "*"


def canonical_product(vendor: str | None, product: str) -> tuple[str | None, str]:
    """Map a banner or nmap product name onto NVD's (vendor, product); unknown names pass through."""
    p = normalise_name(product)
    known = _PRODUCT_NAMES.get(p)
    if known is not None and (vendor is None or vendors_equivalent(vendor, known[0])):
        return known
    v = normalise_name(vendor) if vendor else None
    return v, p.replace(" ", "_")
