"""The `cybervault` command."""

from __future__ import annotations

import importlib
import sys

import typer

from cybervault.cli import keys as keys_cli
from cybervault.cli import orgs as orgs_cli
from cybervault.cli import server as server_cli
from cybervault.kit.modules import module_exists

app = typer.Typer(help="CyberVault: security operations API server, workers and tools.",
                  no_args_is_help=True, add_completion=False)
app.command("serve")(server_cli.serve)
app.command("worker")(server_cli.worker)
app.command("migrate")(server_cli.migrate)
app.command("bootstrap")(server_cli.bootstrap)
app.add_typer(orgs_cli.app, name="orgs", help="Create and list organizations.")
app.add_typer(keys_cli.app, name="keys", help="Create, list and revoke API keys.")

# Commands owned by other domains, registered when present.
if module_exists("cybervault.cli.scan"):
    _scan = importlib.import_module("cybervault.cli.scan")
    app.command("scan", help="Scan a target directly with the engine (obeys allowed networks).")(_scan.scan)
if module_exists("cybervault.cli.cve"):
    app.add_typer(importlib.import_module("cybervault.cli.cve").app, name="cve",
                  help="Import and query CVE data.")


def main() -> None:
    from pydantic import ValidationError

    from cybervault.config import describe_settings_error

    try:
        app()
    except ValidationError as exc:
        typer.echo(describe_settings_error(exc), err=True)
        sys.exit(2)
