"""The curated CVE dataset shipped inside the package (an NVD JSON 2.0 feed)."""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from cybervault.vulns.matching import VulnIndex
from cybervault.vulns.records import CveRecord, record_from_nvd

__all__ = ["SHIPPED_DATASET", "load_shipped_records", "shipped_index"]

SHIPPED_DATASET: Path = Path(str(resources.files("cybervault.vulns.data").joinpath("cves.json.gz")))


def load_shipped_records() -> list[CveRecord]:
    with gzip.open(SHIPPED_DATASET, "rb") as fh:
        feed = json.load(fh)
    return [record_from_nvd(item["cve"]) for item in feed["vulnerabilities"]]


@lru_cache(maxsize=1)
def shipped_index() -> VulnIndex:
    """An in-memory index of the shipped dataset (the CLI scan uses it without a database)."""
    return VulnIndex(load_shipped_records())
