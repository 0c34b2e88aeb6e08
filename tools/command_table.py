"""Writes the command table's entries (``core/src/table/commands/<group>.rs``)
from running servers' ``COMMAND INFO`` and ``COMMAND DOCS``.

Usage::

    python tools/command_table.py HOST:PORT [HOST:PORT ...] [--out DIR]

Give every server the table covers (Redis 7.0 and Valkey 9.1), oldest first:
the table has every command any of them has, and where they disagree (a
flag, a key spec's flags, a policy) the later one's word. What the servers
cannot say is kept from the files as they are: reply shapes, blocking
timeouts, and Babushka's own flags (``Dedicated``, ``Session``,
``Unpaired``, ``Alone``, ``Idempotent``). Commands the table leaves out on purpose (``ABSENT`` in
``core/src/table/commands/mod.rs``) are skipped. The
files are then formatted with rustfmt; ``git diff`` shows what changed.

A new group needs its ``mod`` line and its place in ``GROUPS`` by hand.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "core" / "src" / "table" / "commands"

#: COMMAND INFO's flags that the table keeps, as the Rust `Flag` variants.
SERVER_FLAGS = {
    "write": "Write",
    "readonly": "Readonly",
    "denyoom": "Denyoom",
    "admin": "Admin",
    "pubsub": "Pubsub",
    "noscript": "Noscript",
    "blocking": "Blocking",
    "fast": "Fast",
    "no_auth": "NoAuth",
    "no_multi": "NoMulti",
    "no_mandatory_keys": "NoMandatoryKeys",
}
#: Babushka's own flags: set by hand, kept from the files.
OWN_FLAGS = {
    "dedicated": "Dedicated",
    "session": "Session",
    "unpaired": "Unpaired",
    "alone": "Alone",
    "idempotent": "Idempotent",
}
KEY_FLAGS = {
    "RO": "Ro",
    "RW": "Rw",
    "OW": "Ow",
    "RM": "Rm",
    "access": "Access",
    "update": "Update",
    "insert": "Insert",
    "delete": "Delete",
    "not_key": "NotKey",
    "incomplete": "Incomplete",
    "variable_flags": "VariableFlags",
}


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


@dataclass
class Entry:
    name: str
    flags: list[str]
    key_specs: list[dict[str, Any]]
    tips: list[str]
    group: str = ""
    subcommands: dict[str, Entry] = field(default_factory=dict)


def pairs(items: list[Any]) -> dict[str, Any]:
    return {str(items[i]): items[i + 1] for i in range(0, len(items), 2)}


def entry_from_info(info: list[Any]) -> Entry:
    name = str(info[0]).upper().replace("|", " ")
    entry = Entry(
        name=name,
        flags=[str(flag) for flag in info[2]],
        tips=[str(tip) for tip in info[7]],
        key_specs=[pairs(spec) for spec in info[8]],
    )
    for sub in info[9]:
        child = entry_from_info(sub)
        entry.subcommands[child.name] = child
    return entry


def read_server(address: str) -> dict[str, Entry]:
    host, _, port = address.rpartition(":")
    with socket.create_connection((host or "localhost", int(port)), timeout=10) as sock:
        reader = sock.makefile("rb")
        infos = request(sock, reader, "COMMAND", "INFO")
        docs = pairs(request(sock, reader, "COMMAND", "DOCS"))
    entries = {}
    for info in infos:
        entry = entry_from_info(info)
        entry.group = str(pairs(docs[str(info[0])])["group"])
        entries[entry.name] = entry
    return entries


def request(sock: socket.socket, reader: Any, *words: str) -> Any:
    """Sends a command and reads its RESP2 reply (enough RESP for COMMAND)."""
    packed = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    sock.sendall(packed.encode())
    return read_reply(reader)


def read_reply(reader: Any) -> Any:
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [read_reply(reader) for _ in range(size)]
    raise RuntimeError(f"unexpected reply line {line!r}")


def merge(servers: list[dict[str, Entry]]) -> dict[str, Entry]:
    """Every command of every server; a later server's entry wins, and a
    container gets every subcommand any server has."""
    merged: dict[str, Entry] = {}
    for entries in servers:
        for name, entry in entries.items():
            old = merged.get(name)
            if old is not None:
                entry.subcommands = {**old.subcommands, **entry.subcommands}
            merged[name] = entry
    return merged


class HandParts:
    """What the entries in ``core/src/table/commands/`` say that the servers
    cannot: read from the files themselves, so the script keeps it."""

    def __init__(self, directory: Path) -> None:
        mod = (directory / "mod.rs").read_text()
        absent = mod[mod.index("pub static ABSENT") :]
        self.absent = set(re.findall(r'name: "([^"]+)"', absent))
        self.calls: dict[str, list[str]] = {}
        self.own_flags: dict[str, list[str]] = {}
        for path in sorted(directory.glob("*.rs")):
            if path.name != "mod.rs":
                self._read(path.read_text())

    def _read(self, source: str) -> None:
        # Each entry's own calls come before the next entry starts (a
        # container's before its subcommands).
        starts = list(re.finditer(r'cmd\(\s*"([^"]+)",\s*&\[([^\]]*)\]', source))
        for at, match in enumerate(starts):
            end = starts[at + 1].start() if at + 1 < len(starts) else len(source)
            segment = source[match.end() : end]
            name = match.group(1)
            flags = [flag.strip() for flag in match.group(2).split(",") if flag.strip()]
            self.own_flags[name] = [flag for flag in flags if flag in OWN_FLAGS.values()]
            self.calls[name] = [
                re.sub(r"\s+", "", call)
                for call in re.findall(r"\.(?:timeout|reply3?)\((?:[^()]|\([^()]*\))*\)", segment)
            ]


def key_spec(spec: dict[str, Any]) -> str:
    begin = pairs(spec["begin_search"])
    find = pairs(spec["find_keys"])
    begin_spec = pairs(begin["spec"]) if begin["spec"] else {}
    find_spec = pairs(find["spec"]) if find["spec"] else {}
    if begin["type"] == "index":
        text = f"at({begin_spec['index']})"
    elif begin["type"] == "keyword":
        text = f'keyword("{begin_spec["keyword"]}", {begin_spec["startfrom"]})'
    else:
        text = "unknown()"
    if find["type"] == "range":
        values = (find_spec["lastkey"], find_spec["keystep"], find_spec["limit"])
        if values != (0, 1, 0):
            text += ".range({}, {}, {})".format(*values)
    elif find["type"] == "keynum":
        values = (find_spec["keynumidx"], find_spec["firstkey"], find_spec["keystep"])
        text += ".keynum({}, {}, {})".format(*values)
    elif begin["type"] != "unknown":
        text += ".find_unknown()"
    flags = [KEY_FLAGS[str(flag)] for flag in spec["flags"]]
    if flags:
        text += f".flags(&[{', '.join(flags)}])"
    return text


def tip(entry: Entry, name: str) -> str | None:
    """The value of a ``name:value`` tip (``request_policy:all_shards``)."""
    prefix = f"{name}:"
    return next((t.removeprefix(prefix) for t in entry.tips if t.startswith(prefix)), None)


def entry_source(entry: Entry, table: HandParts) -> str:
    flags = [SERVER_FLAGS[flag] for flag in entry.flags if flag in SERVER_FLAGS]
    flags += table.own_flags.get(entry.name, [])
    text = f'cmd("{entry.name}", &[{", ".join(flags)}])'
    if entry.key_specs:
        text += f".keys(&[{', '.join(key_spec(spec) for spec in entry.key_specs)}])"
    text += "".join(table.calls.get(entry.name, []))
    request, response = tip(entry, "request_policy"), tip(entry, "response_policy")
    if request or response:
        text += (
            f".policy(RequestPolicy::{camel(request or 'default')}, "
            f"ResponsePolicy::{camel(response or 'default')})"
        )
    subcommands = [
        sub for name, sub in sorted(entry.subcommands.items()) if name not in table.absent
    ]
    if subcommands:
        text += f".subcommands(&[{', '.join(entry_source(sub, table) for sub in subcommands)}])"
    return text


HEADER = """\
//! {title} commands.
//!
//! Written by `tools/command_table.py` from the servers' `COMMAND INFO`
//! (flags, key specs, policies); reply shapes, timeouts and Babushka's own
//! flags are set by hand here, and the script keeps them.

use crate::table::spec::prelude::*;

pub(super) static COMMANDS: &[CommandSpec] = &[
"""


def write_groups(entries: dict[str, Entry], table: HandParts, out: Path) -> list[Path]:
    groups: dict[str, list[Entry]] = {}
    for name, entry in sorted(entries.items()):
        if name not in table.absent:
            groups.setdefault(entry.group, []).append(entry)
    written = []
    for group, members in sorted(groups.items()):
        path = out / f"{group.replace('-', '_')}.rs"
        title = group.replace("-", " ").capitalize()
        if group == "generic":
            title = "Generic (keyspace)"
        body = "".join(f"    {entry_source(entry, table)},\n" for entry in members)
        path.write_text(HEADER.format(title=title) + body + "];\n")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("servers", nargs="+", metavar="HOST:PORT", help="oldest first")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    table = HandParts(args.out)
    entries = merge([read_server(address) for address in args.servers])
    written = write_groups(entries, table, args.out)
    subprocess.run(["rustfmt", "--edition", "2021", *map(str, written)], check=True)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
