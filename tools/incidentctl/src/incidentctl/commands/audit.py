"""`incidentctl audit`: tamper evidence for auditors."""

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from incidentctl.audit import NoPublicKeys
from incidentctl.audit import verify as run_verify
from incidentctl.audit_heads import KeptHead, parse_heads
from incidentctl.logreader import log_progress
from incidents_shared.audit import SigningKey, public_key_text
from incidents_shared.settings import CommonSettings, load_settings

app = typer.Typer(
    help="Tamper evidence: hash chains and signed checkpoints, recomputed from the log.", no_args_is_help=True
)
USAGE_ERROR = 2


@app.command("verify")
def verify(
    heads: Annotated[
        Path | None,
        typer.Option(help="the stderr of an earlier run: its chain heads must still be there, unchanged"),
    ] = None,
) -> None:
    """Recompute every incident's hash chain and the signed checkpoints from the log and compare.

    Reports the exact incident and version of any edited, deleted or inserted event, and any checkpoint that is
    not signed by a trusted key, that the log no longer matches, or that breaks its partition's chain (deleted,
    edited, re-signed); exits 1 on any finding. Prints each chain's newest checkpoint (number and hash) to
    stderr: keep those lines elsewhere and pass them back with --heads to find removed newest checkpoints. Needs
    INCIDENTS_AUDIT_PUBLIC_KEYS (the projector's public key or keys): without one it refuses with exit 2
    rather than skip the signatures.
    """
    settings = load_settings(CommonSettings)
    kept = _kept_heads(heads)
    try:
        with log_progress("recomputing chains from the log"):
            report = asyncio.run(run_verify(settings, kept))
    except NoPublicKeys as exc:
        typer.echo(f"audit verify: {exc}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    for finding in report.findings:
        typer.echo(finding)
    for line in report.head_lines():
        typer.echo(line, err=True)
    summary = f"{report.incidents} incidents, {report.events} accepted events, {report.checkpoints} checkpoints: " + (
        "verified" if report.ok else f"{len(report.findings)} findings"
    )
    typer.echo(summary, err=True)
    raise typer.Exit(0 if report.ok else 1)


def _kept_heads(path: Path | None) -> dict[int, KeptHead] | None:
    if path is None:
        return None
    try:
        return parse_heads(path.read_text())
    except (OSError, ValueError) as exc:
        typer.echo(f"audit verify: --heads {path}: {exc}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


@app.command("keygen")
def keygen(
    key_file: Annotated[Path, typer.Argument(help="where to write the new private key (PEM, owner-only)")],
) -> None:
    """Make a new Ed25519 key pair for the projector's audit checkpoints (key rotation: docs/SECURITY.md).

    Writes the private key to KEY_FILE (refuses to overwrite one) for INCIDENTS_AUDIT_SIGNING_KEY_FILE, and
    prints the key id and the public key to add to the verifiers' INCIDENTS_AUDIT_PUBLIC_KEYS.
    """
    key = SigningKey.generate()
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        typer.echo(f"audit keygen: cannot create {key_file}: {exc.strerror}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    with os.fdopen(fd, "wb") as f:
        f.write(key.pem())
    typer.echo(f"key id:     {key.key_id}")
    typer.echo(f"public key: {public_key_text(key.public)}")
