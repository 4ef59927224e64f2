"""Interactive API docs at /docs, served entirely by this server (no CDN).

The Swagger UI files come from the `fastapi-offline` package (Swagger UI 5, which renders OpenAPI 3.1;
the older `swagger-ui-bundle` package ships Swagger UI 4, which refuses 3.1 documents).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
router = APIRouter(tags=["platform"])


def assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).resolve().parent / "static"


@lru_cache(maxsize=1)
def _page() -> tuple[bytes, str]:
    html = get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="CyberVault API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        swagger_ui_parameters={"persistAuthorization": True, "tryItOutEnabled": False},
    ).body
    # The page's one inline script (the Swagger UI bootstrap) is allowed by its hash, nothing else inline.
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() + "'"
        for m in re.finditer(rb"<script>(.*?)</script>", bytes(html), re.S)
    ]
    csp = ("default-src 'none'; script-src 'self' " + " ".join(hashes) + "; style-src 'self'; "
           "img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; "
           "base-uri 'none'; form-action 'none'")
    return bytes(html), csp


@router.get("/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    body, csp = _page()
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"})


router.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
