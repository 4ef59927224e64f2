"""`cybervault cve ...`: import NVD / CVE 5 / KEV / EPSS files and look CVEs up offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cybervault.config import get_settings
from cybervault.kit.db import Database

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("import")
def import_(
    paths: list[Path] = typer.Argument(..., help="NVD JSON 2.0 feeds or API pages (.json/.json.gz), CVE JSON 5 "
                                                 "records, the CISA KEV catalog, or EPSS CSVs (.csv/.gz)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """Import vulnerability data files (format detected from content). Re-importing changes nothing."""
    from cybervault.vulns.importer import FORMAT_NAMES, FileReport, import_paths

    settings = get_settings()

    async def run() -> list[FileReport]:
        db = Database(settings.database_url, pool_size=2)
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                          TextColumn("{task.fields[records]} records"), TimeRemainingColumn(),
                          console=err, disable=quiet, transient=False) as progress:

                def on_file(path: Path, size: int):  # type: ignore[no-untyped-def]
                    task = progress.add_task(path.name, total=max(size, 1), records=0)

                    def update(done: int, records: int) -> None:
                        progress.update(task, completed=done, records=records)

                    return update

                return await import_paths(db, paths, on_file=on_file, parsers=settings.import_parsers)
        finally:
            await db.dispose()

    reports = asyncio.run(run())
    failed = False
    for r in reports:
        c = r.counts
        name = FORMAT_NAMES.get(r.format or "", "unknown format")
        console.print(f"[bold]{r.file}[/bold] ({name}): {r.records} records — {c.inserted} new, "
                      f"{c.updated} updated, {c.unchanged} unchanged, {len(r.failures)} rejected", soft_wrap=True)
        if r.file_error:
            failed = True
            err.print(f"[red]{r.file}: {r.file_error}[/red]", soft_wrap=True)
        for f in r.failures[:50]:
            err.print(f"[yellow]{f.file}: {f.record_id}: {f.reason}[/yellow]", soft_wrap=True, markup=False)
        if len(r.failures) > 50:
            err.print(f"[yellow]{r.file}: … and {len(r.failures) - 50} more rejected records[/yellow]")
        failed = failed or bool(r.failures)
    raise typer.Exit(1 if failed else 0)


@app.command("show")
def show(cve_id: str = typer.Argument(..., help="CVE id, e.g. CVE-2017-5638")) -> None:
    """Show one CVE from the local database."""
    from cybervault.cli.common import run_with_session
    from cybervault.vulns.service import get_cve

    cve = run_with_session(lambda s, _: get_cve(s, cve_id))
    console.print(f"[bold]{cve.cve_id}[/bold]  CVSS {cve.cvss_score} ({cve.severity})  {cve.cvss_v31_vector or ''}")
    console.print(cve.description)
    console.print(f"https://nvd.nist.gov/vuln/detail/{cve.cve_id}")


@app.command("match")
def match(
    product: str = typer.Argument(..., help="Product as a banner names it, e.g. OpenSSH"),
    version: str = typer.Argument(..., help="Version as seen, e.g. '9.2p1 Debian-2+deb12u3'"),
    vendor: str | None = typer.Option(None, help="Vendor, if known"),
    offline: bool = typer.Option(False, help="Use the shipped dataset in memory instead of the database"),
) -> None:
    """List CVEs affecting a product version (NVD version ranges)."""
    table = Table("cve", "cvss", "severity", "kev", "confidence")
    if offline:
        from cybervault.vulns.dataset import shipped_index

        for m in shipped_index().match_service(vendor=vendor, product=product, version=version):
            r = m.record
            table.add_row(r.cve_id, str(r.cvss_score), r.severity or "", "yes" if r.kev else "",
                          m.confidence.value)
    else:
        from cybervault.cli.common import run_with_session
        from cybervault.vulns.service import match_service

        rows = run_with_session(lambda s, _: match_service(s, vendor=vendor, product=product, version=version))
        for row in rows:
            table.add_row(row.cve_id, str(row.cvss_score), row.severity or "", "yes" if row.kev else "",
                          row.confidence)
    console.print(table)
