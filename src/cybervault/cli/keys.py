from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from cybervault.cli.common import run_with_session
from cybervault.keys import service
from cybervault.kit.errors import CyberVaultError
from cybervault.orgs.service import get_org

app = typer.Typer(no_args_is_help=True)
console = Console()


def _parse_expiry(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.endswith("d") and value[:-1].isdigit():
        return dt.datetime.now(dt.UTC) + dt.timedelta(days=int(value[:-1]))
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@app.command("create")
def create(
    org: str = typer.Option(..., "--org", help="Organization id (org_…)"),
    mode: str = typer.Option("test", "--mode", help="live or test"),
    kind: str = typer.Option("sk", "--type", help="sk (full access) or rk (restricted)"),
    scope: list[str] = typer.Option([], "--scope", help="Scope for rk keys, e.g. scans:read (repeatable)"),
    name: str = typer.Option("", "--name"),
    expires: str | None = typer.Option(None, "--expires", help="ISO date-time or a number of days like 90d"),
) -> None:
    """Create an API key. The key is printed once and cannot be shown again."""
    if mode not in ("live", "test"):
        raise typer.BadParameter("--mode must be live or test")

    async def work(session, settings):  # type: ignore[no-untyped-def]
        await get_org(session, org)
        return await service.create_key(
            session, org_id=org, livemode=mode == "live", kind=kind, name=name, scopes=scope or None,
            expires_at=_parse_expiry(expires), server_secret=settings.secret_key.get_secret_value())

    try:
        key, plaintext = run_with_session(work)
    except CyberVaultError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(f"Created {key.id} ({mode}, {kind}). Store it now; it is shown only once:")
    typer.echo(plaintext)


@app.command("list")
def list_(org: str = typer.Option(..., "--org", help="Organization id")) -> None:
    """List an organization's keys (never the secrets)."""
    keys = run_with_session(lambda s, _: service.list_keys_for_org(s, org))
    table = Table("id", "key", "mode", "type", "name", "expires", "revoked")
    for k in keys:
        table.add_row(k.id, k.redacted, "live" if k.livemode else "test", k.kind, k.name,
                      k.expires_at.isoformat() if k.expires_at else "-", "yes" if k.revoked_at else "")
    console.print(table)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="Key id (key_…)")) -> None:
    """Revoke a key at once."""

    async def work(session, _settings):  # type: ignore[no-untyped-def]
        key = await service.find_key(session, key_id)
        if key is None:
            return None
        return await service.revoke_key(session, key)

    key = run_with_session(work)
    if key is None:
        console.print(f"[red]error:[/red] no such key {key_id}")
        raise typer.Exit(1)
    console.print(f"Revoked {key.id}")
