"""Print the OpenAPI document: `python -m cybervault.platform.openapi_dump > openapi.json` (`make openapi`).

The app is built with fixed settings so the output does not depend on the environment or a .env file.
"""

from __future__ import annotations

import sys

from cybervault.config import Settings
from cybervault.platform.openapi import render

FIXED = dict(env="development", database_url="sqlite+aiosqlite:///./openapi-dump.db", redis_url=None,
             public_base_url="http://127.0.0.1:8000", log_level="error", cors_origins=[])


def main() -> None:
    from cybervault.app import create_app

    app = create_app(Settings(_env_file=None, **FIXED), migrate=False)  # type: ignore[call-arg, arg-type]
    sys.stdout.write(render(app.openapi()))


if __name__ == "__main__":
    main()
