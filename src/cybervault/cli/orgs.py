from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from cybervault.cli.common import run_with_session
from cybervault.orgs import service

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command("create")
def create(name: str = typer.Argument(..., help="Organization name"),
           rate_limit: int | None = typer.Option(None, help="Requests per minute per key (default: server's)")) -> None:
    """Create an organization."""
    org = run_with_session(lambda s, _: service.create_org(s, name, rate_limit_per_minute=rate_limit))
    console.print(f"Created organization [bold]{org.id}[/bold] ({org.name})")


@app.command("list")
def list_() -> None:
    """List organizations."""
    orgs = run_with_session(lambda s, _: service.list_orgs(s))
    table = Table("id", "name", "created")
    for org in orgs:
        table.add_row(org.id, org.name, org.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)
