"""CVE intelligence tables. Global reference data: not scoped to an organization or mode."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cybervault.kit.db import Base, UTCDateTime

# Version sort keys compare byte-wise; PostgreSQL needs the "C" collation for that.
VersionKey = String(240).with_variant(String(240, collation="C"), "postgresql")


class Cve(Base):
    __tablename__ = "cves"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # year * 10^8 + number: orders the list newest-first and serves as the pagination key.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_modified: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    vuln_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cvss_v31_vector: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cvss_v31_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cvss_v40_vector: Mapped[str | None] = mapped_column(String(300), nullable=True)
    cvss_v40_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cvss_score: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    severity: Mapped[str | None] = mapped_column(String(10), nullable=True)
    cwes: Mapped[list[Any]] = mapped_column(default=list)
    references: Mapped[list[Any]] = mapped_column(default=list)
    configurations: Mapped[list[Any]] = mapped_column(default=list)
    # "nvd", "cve5" or "curated" (the shipped dataset, replaced by any imported record).
    source: Mapped[str] = mapped_column(String(16), default="nvd")
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class CveCpeMatch(Base):
    """One cpeMatch criterion, denormalised for lookup by product; lo/hi keys prefilter versions in SQL.

    No index on the keys: lookups are served by the in-memory match index, and a range index made
    imports twice as slow (migration 0008)."""

    __tablename__ = "cve_cpe_matches"
    __table_args__ = (Index("ix_cve_cpe_matches_product_vendor", "product", "vendor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cve_id: Mapped[str] = mapped_column(String(32), ForeignKey("cves.cve_id", ondelete="CASCADE"), index=True)
    part: Mapped[str] = mapped_column(String(1))
    vendor: Mapped[str] = mapped_column(String(128))
    product: Mapped[str] = mapped_column(String(128))
    vulnerable: Mapped[bool] = mapped_column(Boolean)
    # The criterion's configuration is a single plain OR node: a hit on it alone makes the CVE apply,
    # so matching need not load and evaluate the whole configuration.
    decisive: Mapped[bool] = mapped_column(Boolean)
    criteria: Mapped[str] = mapped_column(String(512))
    version_start_including: Mapped[str | None] = mapped_column(String(128), nullable=True)
    version_start_excluding: Mapped[str | None] = mapped_column(String(128), nullable=True)
    version_end_including: Mapped[str | None] = mapped_column(String(128), nullable=True)
    version_end_excluding: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Byte-sortable version keys bounding the criterion ("" and "~" for open ends): a SQL prefilter.
    lo_key: Mapped[str] = mapped_column(VersionKey)
    hi_key: Mapped[str] = mapped_column(VersionKey)


class KevEntry(Base):
    """CISA Known Exploited Vulnerabilities; may arrive before the CVE itself, so no foreign key."""

    __tablename__ = "cve_kev"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    date_added: Mapped[dt.date] = mapped_column(Date, index=True)
    due_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    vendor_project: Mapped[str | None] = mapped_column(String(200), nullable=True)
    product: Mapped[str | None] = mapped_column(String(200), nullable=True)
    vulnerability_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    required_action: Mapped[str | None] = mapped_column(Text, nullable=True)
    ransomware: Mapped[str | None] = mapped_column(String(20), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    # "catalog" (CISA KEV JSON) outranks "nvd"/"curated" (the cisaExploitAdd fields of a CVE record).
    source: Mapped[str] = mapped_column(String(16), default="catalog")


class EpssScore(Base):
    __tablename__ = "cve_epss"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    score_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class VulnDatasetState(Base):
    """Which shipped dataset (by digest) was loaded, so `migrate` skips an unchanged one quickly."""

    __tablename__ = "vuln_dataset_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
