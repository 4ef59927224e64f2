"""Queries and upserts for the global CVE tables (no tenant filter: CVE data is shared reference data)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cybervault.kit.db import utcnow
from cybervault.vulns.bulk import bulk_insert, insert_tuples
from cybervault.vulns.models import Cve, CveCpeMatch, EpssScore, KevEntry, VulnDatasetState
from cybervault.vulns.records import CveRecord, KevInfo
from cybervault.vulns.rows import CVE_COLUMNS, MATCH_COLUMNS, PreparedRecord, prepare_record

__all__ = ["CveStore", "UpsertCounts"]

_IN_CHUNK = 500  # stay well under SQLite's bound-parameter limit
# The vuln_dataset_state row whose digest is a random token replaced by every write to the CVE tables:
# in-memory match indexes compare it with the token they were built from.
DATA_VERSION = "data_version"
DATA_CHANGED = "cybervault_vuln_data_changed"


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: UpsertCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged


def _replaces(existing_source: str, existing_modified: dt.datetime | None, source: str,
              modified: dt.datetime | None) -> bool:
    """Whether an incoming record replaces the stored one.

    The shipped (curated) dataset never overwrites imported data and is replaced by any import;
    otherwise a strictly newer lastModified wins, so re-importing the same file changes nothing.
    """
    if existing_source == "curated" and source != "curated":
        return True
    if source == "curated" and existing_source != "curated":
        return False
    if modified is None:
        return False
    return existing_modified is None or modified > existing_modified


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class CveStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- writes ---------------------------------------------------------------------------------

    async def dialect(self) -> str:
        return (await self.session.connection()).dialect.name

    async def upsert_records(self, records: Sequence[CveRecord], *, source: str) -> UpsertCounts:
        """Insert new records and replace older ones; the caller owns the transaction."""
        if not records:
            return UpsertCounts()
        dialect, now = await self.dialect(), utcnow()
        return await self.upsert_prepared([prepare_record(r, source, now, dialect) for r in records],
                                          source=source)

    async def upsert_prepared(self, records: Sequence[PreparedRecord], *, source: str) -> UpsertCounts:
        """`upsert_records` for records already turned into rows (by `prepare_record`, same dialect)."""
        counts = UpsertCounts()
        if not records:
            return counts
        latest: dict[str, PreparedRecord] = {}
        for r in records:  # the same id twice in one batch: keep the newest
            prev = latest.get(r.cve_id)
            if prev is None or _replaces(source, prev.last_modified, source, r.last_modified):
                latest[r.cve_id] = r
        ids = list(latest)
        existing: dict[str, tuple[str, dt.datetime | None]] = {}
        for chunk in _chunks(ids):
            rows = await self.session.execute(
                select(Cve.cve_id, Cve.source, Cve.last_modified).where(Cve.cve_id.in_(chunk))
            )
            existing.update({row[0]: (row[1], row[2]) for row in rows})
        to_write: list[PreparedRecord] = []
        replaced: list[str] = []
        for cve_id, rec in latest.items():
            old = existing.get(cve_id)
            if old is None:
                to_write.append(rec)
                counts.inserted += 1
            elif _replaces(old[0], old[1], source, rec.last_modified):
                to_write.append(rec)
                replaced.append(cve_id)
                counts.updated += 1
            else:
                counts.unchanged += 1
        counts.unchanged += len(records) - len(latest)
        for chunk in _chunks(replaced):
            await self.session.execute(delete(CveCpeMatch).where(CveCpeMatch.cve_id.in_(chunk)))
            await self.session.execute(delete(Cve).where(Cve.cve_id.in_(chunk)))
        if to_write:
            await insert_tuples(self.session, Cve.__table__, CVE_COLUMNS, [r.cve for r in to_write])
            await insert_tuples(self.session, CveCpeMatch.__table__, MATCH_COLUMNS,
                                [m for r in to_write for m in r.matches])
            kev_rows = [(r.cve_id, r.kev) for r in to_write if r.kev is not None]
            if kev_rows:
                await self._kev_from_records(kev_rows, source)
            await self.mark_changed()
        return counts

    async def _kev_from_records(self, rows: list[tuple[str, KevInfo]], source: str) -> None:
        """KEV fields carried by CVE records fill in KEV rows, never overriding the CISA catalog."""
        ids = [cve_id for cve_id, _ in rows]
        have: dict[str, str] = {}
        for chunk in _chunks(ids):
            result = await self.session.execute(
                select(KevEntry.cve_id, KevEntry.source).where(KevEntry.cve_id.in_(chunk))
            )
            have.update({r[0]: r[1] for r in result})
        stale = [i for i in ids if i in have and have[i] != "catalog"]
        for chunk in _chunks(stale):
            await self.session.execute(delete(KevEntry).where(KevEntry.cve_id.in_(chunk)))
        new = [
            {
                "cve_id": cve_id,
                "date_added": kev.date_added,
                "due_date": kev.due_date,
                "vulnerability_name": (kev.vulnerability_name or None) and kev.vulnerability_name[:500],
                "required_action": kev.required_action,
                "source": source,
            }
            for cve_id, kev in rows
            if have.get(cve_id) != "catalog"
        ]
        if new:
            await self.session.execute(KevEntry.__table__.insert(), new)

    async def upsert_kev(self, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
        counts = UpsertCounts()
        by_id = {r["cve_id"]: r for r in rows}
        existing: dict[str, KevEntry] = {}
        for chunk in _chunks(list(by_id)):
            found = await self.session.scalars(select(KevEntry).where(KevEntry.cve_id.in_(chunk)))
            existing.update({k.cve_id: k for k in found})
        inserts = []
        for cve_id, row in by_id.items():
            old = existing.get(cve_id)
            if old is None:
                inserts.append({**row, "source": "catalog"})
                counts.inserted += 1
                continue
            changed = old.source != "catalog" or any(getattr(old, k) != v for k, v in row.items())
            if not changed:
                counts.unchanged += 1
                continue
            for k, v in row.items():
                setattr(old, k, v)
            old.source = "catalog"
            counts.updated += 1
        if inserts:
            await self.session.execute(KevEntry.__table__.insert(), inserts)
        await self.session.flush()
        if counts.inserted or counts.updated:
            await self.mark_changed()
        return counts

    async def upsert_epss(self, rows: Sequence[dict[str, Any]]) -> UpsertCounts:
        counts = UpsertCounts()
        by_id = {r["cve_id"]: r for r in rows}
        existing: dict[str, tuple[float, float, dt.date | None]] = {}
        for chunk in _chunks(list(by_id)):
            result = await self.session.execute(
                select(EpssScore.cve_id, EpssScore.score, EpssScore.percentile, EpssScore.score_date).where(
                    EpssScore.cve_id.in_(chunk)
                )
            )
            existing.update({r[0]: (r[1], r[2], r[3]) for r in result})
        inserts, replace = [], []
        for cve_id, row in by_id.items():
            old = existing.get(cve_id)
            if old is None:
                inserts.append(row)
                counts.inserted += 1
            elif old == (row["score"], row["percentile"], row["score_date"]):
                counts.unchanged += 1
            elif old[2] is not None and row["score_date"] is not None and row["score_date"] < old[2]:
                counts.unchanged += 1  # an older daily file never replaces a newer score
            else:
                replace.append(row)
                counts.updated += 1
        for chunk in _chunks([r["cve_id"] for r in replace]):
            await self.session.execute(delete(EpssScore).where(EpssScore.cve_id.in_(chunk)))
        if inserts or replace:
            await bulk_insert(self.session, EpssScore.__table__, inserts + replace)
            await self.mark_changed()
        return counts

    async def mark_changed(self) -> None:
        """Give the data a new version token, in the caller's transaction."""
        dialect = await self.dialect()
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = {"name": DATA_VERSION, "digest": secrets.token_hex(16), "records": 0, "loaded_at": utcnow()}
        stmt = insert(VulnDatasetState).values(**values)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=["name"], set_={"digest": stmt.excluded.digest, "loaded_at": stmt.excluded.loaded_at}))
        self.session.sync_session.info[DATA_CHANGED] = True  # in-process match indexes re-read the token

    async def data_version(self) -> str | None:
        return await self.session.scalar(select(VulnDatasetState.digest).where(VulnDatasetState.name == DATA_VERSION))

    # --- whole-table reads for the in-memory match index ------------------------------------------

    async def _stream(self, stmt: Select[Any], size: int) -> AsyncIterator[Sequence[Any]]:
        conn = await self.session.connection()
        result = await conn.stream(stmt, execution_options={"yield_per": size})
        async for rows in result.partitions(size):
            yield rows

    def stream_match_metadata(self, size: int) -> AsyncIterator[Sequence[Any]]:
        return self._stream(
            select(Cve.cve_id, Cve.seq, Cve.cvss_score, Cve.cvss_v31_vector, Cve.cvss_v40_vector, Cve.severity,
                   KevEntry.cve_id, EpssScore.score)
            .outerjoin(KevEntry, KevEntry.cve_id == Cve.cve_id)
            .outerjoin(EpssScore, EpssScore.cve_id == Cve.cve_id), size)

    def stream_vulnerable_criteria(self, size: int) -> AsyncIterator[Sequence[Any]]:
        m = CveCpeMatch
        return self._stream(
            select(m.cve_id, m.criteria, m.version_start_including, m.version_start_excluding,
                   m.version_end_including, m.version_end_excluding, m.decisive)
            .where(m.vulnerable.is_(True)), size)

    def stream_complex_configurations(self, size: int) -> AsyncIterator[Sequence[Any]]:
        """Configurations of CVEs with a vulnerable criterion outside a plain OR configuration."""
        m = CveCpeMatch
        complex_ids = select(m.cve_id).where(m.vulnerable.is_(True), m.decisive.is_(False))
        return self._stream(select(Cve.cve_id, Cve.configurations).where(Cve.cve_id.in_(complex_ids)), size)

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, cve_id: str) -> Cve | None:
        return await self.session.get(Cve, cve_id)

    async def kev_for(self, ids: Sequence[str]) -> dict[str, KevEntry]:
        out: dict[str, KevEntry] = {}
        for chunk in _chunks(list(ids)):
            out.update({k.cve_id: k for k in await self.session.scalars(
                select(KevEntry).where(KevEntry.cve_id.in_(chunk)))})
        return out

    async def epss_for(self, ids: Sequence[str]) -> dict[str, EpssScore]:
        out: dict[str, EpssScore] = {}
        for chunk in _chunks(list(ids)):
            out.update({e.cve_id: e for e in await self.session.scalars(
                select(EpssScore).where(EpssScore.cve_id.in_(chunk)))})
        return out

    async def cves_by_id(self, ids: Sequence[str]) -> dict[str, Cve]:
        out: dict[str, Cve] = {}
        for chunk in _chunks(list(ids)):
            out.update({c.cve_id: c for c in await self.session.scalars(select(Cve).where(Cve.cve_id.in_(chunk)))})
        return out

    async def candidate_criteria(self, products: Sequence[str], full_key: str, base_key: str) -> Sequence[Any]:
        """Vulnerable criteria for these products whose version range may contain the target.

        The product index finds the rows, the byte-sortable keys drop those whose range cannot hold the
        version; each row also carries what a match result shows (scores, KEV, EPSS), so one query answers
        a lookup. Python then applies NVD's exact rules. (The in-memory match index is the fast path.)
        """
        m = CveCpeMatch
        stmt = (
            select(m.cve_id, m.criteria, m.vulnerable, m.version_start_including, m.version_start_excluding,
                   m.version_end_including, m.version_end_excluding, m.decisive,
                   Cve.seq, Cve.cvss_score, Cve.cvss_v31_vector, Cve.cvss_v40_vector, Cve.severity,
                   Cve.description, Cve.last_modified, KevEntry.cve_id.label("kev_id"),
                   EpssScore.score.label("epss"))
            .join(Cve, Cve.cve_id == m.cve_id)
            .outerjoin(KevEntry, KevEntry.cve_id == m.cve_id)
            .outerjoin(EpssScore, EpssScore.cve_id == m.cve_id)
            .where(
                m.product.in_(list(products)),
                m.lo_key <= full_key,
                m.hi_key >= base_key,
                m.vulnerable.is_(True),
            )
        )
        return (await self.session.execute(stmt)).all()

    async def match_rows(self, ids: Sequence[str]) -> Sequence[Any]:
        """What matching and its result need, with KEV and EPSS joined in (one query per 500 ids)."""
        out: list[Any] = []
        for chunk in _chunks(list(ids)):
            out.extend((await self.session.execute(
                select(Cve.cve_id, Cve.seq, Cve.cvss_score, Cve.cvss_v31_vector, Cve.cvss_v40_vector, Cve.severity,
                       Cve.description, Cve.last_modified, KevEntry.cve_id.label("kev_id"),
                       EpssScore.score.label("epss"))
                .outerjoin(KevEntry, KevEntry.cve_id == Cve.cve_id)
                .outerjoin(EpssScore, EpssScore.cve_id == Cve.cve_id)
                .where(Cve.cve_id.in_(chunk))
            )).all())
        return out

    async def configurations_for(self, ids: Sequence[str]) -> dict[str, tuple[Any, Any]]:
        out: dict[str, tuple[Any, Any]] = {}
        for chunk in _chunks(list(ids)):
            rows = await self.session.execute(
                select(Cve.cve_id, Cve.last_modified, Cve.configurations).where(Cve.cve_id.in_(chunk)))
            out.update({r[0]: (r[1], r[2]) for r in rows})
        return out

    def list_statement(
        self, *, products: Sequence[str] | None, kev: bool | None, min_cvss: float | None
    ) -> Select[Any]:
        stmt = select(Cve)
        if products:
            stmt = stmt.where(
                exists().where(
                    and_(CveCpeMatch.cve_id == Cve.cve_id, CveCpeMatch.product.in_(list(products)),
                         CveCpeMatch.vulnerable.is_(True))
                )
            )
        if kev is True:
            stmt = stmt.where(exists().where(KevEntry.cve_id == Cve.cve_id))
        elif kev is False:
            stmt = stmt.where(~exists().where(KevEntry.cve_id == Cve.cve_id))
        if min_cvss is not None:
            stmt = stmt.where(Cve.cvss_score >= min_cvss)
        return stmt
