"""Generate the sync resources from the async source: `python scripts/unasync.py` (or `--check`).

The async file is the one to edit. The rewrite is textual and small on purpose (the same idea as
httpcore's unasync script), so both clients always expose exactly the same resources and signatures.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "cybervault_sdk"
FILES = {f"_async/{name}.py": f"_sync/{name}.py"
         for name in ("_resource", "threats", "incidents", "platform", "resources")}

# Order matters: longer names first.
SUBSTITUTIONS = [
    (r"\bAsyncAPIClient\b", "SyncAPIClient"),
    (r"\bAsyncPager\b", "Page"),
    (r"\bAsyncClient\b", "Client"),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"\baclose\b", "close"),
]

GENERATED_DOC = ('"""{title}\n\n'
                 'GENERATED from `_async/{name}` by `scripts/unasync.py`: edit that file, not this one.\n"""\n')


def unasync(source: str, name: str) -> str:
    # Swap the module docstring, which talks about the rewrite itself; keep its first line.
    end = source.index('"""', 3) + 4
    title = source[3:source.index("\n")].replace("(async)", "(sync)").replace("async", "sync")
    source = GENERATED_DOC.format(title=title, name=name) + source[end:]
    for pattern, replacement in SUBSTITUTIONS:
        source = re.sub(pattern, replacement, source)
    return source


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for src, dst in FILES.items():
        generated = unasync((PACKAGE / src).read_text(), src.split("/")[-1])
        target = PACKAGE / dst
        if check:
            if not target.exists() or target.read_text() != generated:
                stale.append(dst)
        else:
            target.write_text(generated)
    if stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/unasync.py")  # noqa: T201
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
