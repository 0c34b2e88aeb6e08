"""MkDocs hooks: the files of the repository the guide shows as they are
(RELIABILITY.md, the benchmark's results and notes), and the tables it
generates from the package itself rather than from a copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent

#: Repository files shown as pages (or images) at the same paths, so the
#: links between them and from README.md's sections resolve.
SHARED = ("RELIABILITY.md", "bench/RESULTS.md", "bench/README.md", "bench/RESULTS-throughput.png")


def on_files(files: Files, config: Any) -> Files:
    for path in SHARED:
        files.append(File.generated(config, path, abs_src_path=str(ROOT / path)))
    return files


def _accepted_redis_py_options() -> str:
    from babushka import _options, _tls

    refused = "\n".join(
        f"| `{name}` | {feature} |"
        for name, feature in sorted({**_options.UNSUPPORTED, **_tls.UNSUPPORTED}.items())
    )
    return (
        "Every other redis-py keyword has its meaning (above). These are accepted "
        "only when left unset, since what they hook into does not exist here "
        "(anything else raises `NotImplementedError`):\n\n"
        "| keyword | what it would need |\n|---|---|\n" + refused + "\n"
    )


def _transports() -> str:
    from babushka import _options

    return ", ".join(
        f"`{name}`" + (" (the default)" if name == _options.DEFAULT_TRANSPORT else "")
        for name in _options.TRANSPORTS
    )


#: Placeholders a page may hold, and what replaces them.
GENERATED = {
    "<!-- generated: redis-py options -->": _accepted_redis_py_options,
    "<!-- generated: transports -->": _transports,
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    for placeholder, make in GENERATED.items():
        if placeholder in markdown:
            markdown = markdown.replace(placeholder, make())
    return markdown
