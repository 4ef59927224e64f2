"""Error code pages, served offline from Markdown files shipped in the package."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent / "errors"
_CODE = re.compile(r"^[a-z_]{3,40}$")


@lru_cache(maxsize=64)
def render_error_page(code: str) -> str | None:
    if not _CODE.match(code):
        return None
    path = PAGES_DIR / f"{code}.md"
    if not path.is_file():
        return None
    body = _markdown_to_html(path.read_text(encoding="utf-8"))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(code)} — CyberVault errors"
            f"</title><style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;"
            f"padding:0 1rem;line-height:1.5}}code,pre{{background:#f4f4f4;padding:.1rem .3rem}}</style>"
            f"</head><body>{body}</body></html>")


def _markdown_to_html(text: str) -> str:
    """Enough Markdown for these pages: headings, paragraphs, lists, code blocks, inline code."""
    out: list[str] = []
    in_list = in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            out.append("</pre>" if in_code else "<pre>")
            in_code = not in_code
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        if in_list and not line.startswith("- "):
            out.append("</ul>")
            in_list = False
        inline = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(line))
        if line.startswith("# "):
            out.append(f"<h1>{inline[2:]}</h1>")
        elif line.startswith("## "):
            out.append(f"<h2>{inline[3:]}</h2>")
        elif line.startswith("- "):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{inline[2:]}</li>")
        elif line.strip():
            out.append(f"<p>{inline}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)
