"""The ``babushka`` command (and ``python -m babushka``): ``--version``, and
``ping``, ``info`` and ``bench`` against a server named by ``--url``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, Optional, Sequence
from urllib.parse import urlparse

import babushka
from babushka.exceptions import RedisError

DEFAULT_URL = "redis://localhost:6379/0"

#: What ``info`` prints without ``--section`` after the server's name and
#: version: (INFO field, label).
SUMMARY = (
    ("redis_mode", "mode"),
    ("role", "role"),
    ("uptime_in_seconds", "uptime (s)"),
    ("connected_clients", "clients"),
    ("used_memory_human", "memory"),
    ("total_commands_processed", "commands processed"),
)


def _client(args: argparse.Namespace) -> babushka.Redis:
    return babushka.Redis.from_url(args.url, transport=args.transport, socket_timeout=args.timeout)


def _ping(args: argparse.Namespace) -> int:
    with _client(args) as r:
        for n in range(args.count):
            began = time.perf_counter()
            r.ping()
            elapsed_ms = (time.perf_counter() - began) * 1000
            # The first includes connecting: the connection opens on first use.
            note = " (connecting)" if n == 0 else ""
            print(f"PONG from {args.url}: {elapsed_ms:.3f} ms{note}")
    return 0


def _format(value: Any) -> str:
    if isinstance(value, dict):  # e.g. a keyspace line: db0 -> {'keys': 3, ...}
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _info(args: argparse.Namespace) -> int:
    with _client(args) as r:
        if args.section:
            for key, value in r.info(*args.section).items():
                print(f"{key}:{_format(value)}")
            return 0
        info = r.info()
        keyspace = r.info("keyspace")
    # Valkey names itself and gives its own version besides the Redis one it
    # is compatible with; Redis has neither field.
    name = info.get("server_name", "redis")
    version = info.get(f"{name}_version", info.get("redis_version"))
    print(f"{'server:':<20} {name} {version}")
    for field, label in SUMMARY:
        if field in info:
            print(f"{label + ':':<20} {info[field]}")
    keys = {db: stats["keys"] for db, stats in keyspace.items() if isinstance(stats, dict)}
    print(f"{'keys:':<20} " + (", ".join(f"{db}={n}" for db, n in keys.items()) or "none"))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from babushka.bench.cli import main as bench_main

    bench_args = list(args.bench_args)
    if args.url is not None:
        parsed = urlparse(args.url)
        if parsed.scheme not in ("redis", "valkey") or parsed.password or parsed.query:
            print(
                "error: the benchmark takes a plain redis://HOST:PORT URL "
                "(no password, TLS or options)",
                file=sys.stderr,
            )
            return 2
        bench_args = [
            "--host",
            parsed.hostname or "localhost",
            "--port",
            str(parsed.port or 6379),
            *bench_args,
        ]
    if not args.full:
        bench_args = ["--quick", *bench_args]
    return bench_main(bench_args)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="babushka",
        description="Babushka, a Redis / Valkey client with redis-py's API and a Rust core.",
    )
    top.add_argument("--version", action="version", version=f"babushka {babushka.__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str, run: Callable[[argparse.Namespace], int]) -> Any:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    def connection_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--url", default=DEFAULT_URL, help=f"the server (default {DEFAULT_URL})")
        sub.add_argument(
            "--transport", choices=babushka.TRANSPORTS, help="default: the client's default"
        )
        sub.add_argument(
            "--timeout", type=float, default=5.0, help="seconds to wait for a reply (default 5)"
        )

    ping = command("ping", "PING the server and print each round trip's time", _ping)
    connection_options(ping)
    ping.add_argument("-c", "--count", type=int, default=1, help="how many pings (default 1)")

    info = command("info", "print a summary of the server's INFO, or whole sections", _info)
    connection_options(info)
    info.add_argument(
        "--section",
        action="append",
        help="print this INFO section whole (repeatable; 'all' or 'everything' for all)",
    )

    bench = command(
        "bench",
        "run the benchmark (python -m babushka.bench): a short run unless --full; "
        "without --url it starts a throw-away redis-server",
        _bench,
    )
    bench.add_argument("--url", help="a plain redis://HOST:PORT to measure against")
    bench.add_argument("--full", action="store_true", help="the full benchmark (many minutes)")
    bench.epilog = (
        "Other options go to the benchmark, e.g. --loop uvloop or --clients 'babushka-*' "
        "(python -m babushka.bench -h lists them)."
    )
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    top = parser()
    # The benchmark's own options pass through; any other command takes none.
    args, unknown = top.parse_known_args(argv)
    if unknown and args.command != "bench":
        top.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.bench_args = unknown
    if args.command is None:
        top.print_help()
        return 2
    if getattr(args, "count", 1) < 1:
        top.error("--count must be at least 1")
    try:
        code: int = args.run(args)
    except (RedisError, OSError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return code
