"""Email over SMTP (STARTTLS, implicit TLS or plain): one message with plain-text and HTML parts."""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from cybervault.config import Settings
from cybervault.incidents.channels.base import SendResult, check_url, incident_view, systems_text
from cybervault.kit.errors import UnsafeUrl


def build_email(event: dict[str, Any], from_address: str, recipients: list[str], settings: Settings) -> EmailMessage:
    v = incident_view(event, settings)
    msg = EmailMessage()
    # Line breaks in a title would be a header injection; EmailMessage refuses them, so fold them away.
    subject = " ".join(f"[CyberVault {v.priority or v.severity}] {v.event_title}: {v.title}".split())
    msg["Subject"] = subject[:250]
    msg["From"] = from_address
    msg["To"] = ", ".join(recipients)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    rows = [("Incident", v.id), ("Severity", v.severity), ("Priority", v.priority or "n/a"),
            ("Status", v.status or "n/a"), ("Affected systems", systems_text(v, 50)),
            ("Assignee", v.assignee or "unassigned"), ("Team", v.team or "none")]
    if v.breach:
        rows.append(("SLA breached", v.breach))
    plain = "\n".join([f"{v.event_title}: {v.title}", ""] + [f"{k}: {val}" for k, val in rows]
                      + ["", v.description[:5000], "", f"Open: {v.link}"])
    msg.set_content(plain)
    table = "".join(f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(str(val))}</td></tr>"
                    for k, val in rows)
    body = (f"<html><body><h2>{html.escape(v.event_title)}: {html.escape(v.title)}</h2>"
            f"<table>{table}</table><p>{html.escape(v.description[:5000])}</p>"
            f"<p><a href=\"{html.escape(v.link)}\">Open incident {html.escape(v.id)}</a></p></body></html>")
    msg.add_alternative(body, subtype="html")
    return msg


def _deliver(config: dict[str, Any], password: str | None, msg: EmailMessage, timeout: float) -> str:
    host, port, security = config["smtp_host"], int(config.get("smtp_port") or 587), config.get("smtp_security",
                                                                                                "starttls")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.get("smtp_username"):
            smtp.login(config["smtp_username"], password or "")
        refused = smtp.send_message(msg, config["from_address"], list(config["recipients"]))
    return f"accepted by {host}:{port}" + (f"; refused {sorted(refused)}" if refused else "")


async def send_email(config: dict[str, Any], password: str | None, event: dict[str, Any],
                     settings: Settings) -> SendResult:
    # The SMTP host goes through the same SSRF guard as URLs (resolved address against allowed networks).
    try:
        await check_url(f"http://{config['smtp_host']}:{int(config.get('smtp_port') or 587)}/", settings)
    except UnsafeUrl as exc:
        return SendResult(False, None, 0, None, f"unsafe_url: {exc.message}")
    msg = build_email(event, config["from_address"], list(config["recipients"]), settings)
    started = time.monotonic()
    try:
        excerpt = await asyncio.to_thread(_deliver, config, password, msg, settings.smtp_timeout_seconds)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        code = getattr(exc, "smtp_code", None)
        return SendResult(False, code if isinstance(code, int) else None, int((time.monotonic() - started) * 1000),
                          None, f"{type(exc).__name__}: {exc}"[:500])
    return SendResult(True, 250, int((time.monotonic() - started) * 1000), excerpt, None)
