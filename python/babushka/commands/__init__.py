"""The command surface, one module per command group.

Each group is a mixin of methods written once for both clients (see
``base.py``); :class:`CoreCommands` combines them.
"""

from __future__ import annotations

from babushka._typing import ValueT
from babushka.commands.acl import AclCommands
from babushka.commands.client_admin import ClientCommands
from babushka.commands.connection import ConnectionCommands
from babushka.commands.diagnostics import DiagnosticsCommands
from babushka.commands.hashes import HashCommands
from babushka.commands.keys import KeyCommands
from babushka.commands.lists import ListCommands
from babushka.commands.pubsub import PubSubCommands
from babushka.commands.scripting import ScriptingCommands
from babushka.commands.server import ServerCommands
from babushka.commands.sets import SetCommands
from babushka.commands.sorted_sets import SortedSetCommands
from babushka.commands.strings import StringCommands


class CoreCommands(
    ConnectionCommands[ValueT],
    ClientCommands[ValueT],
    ServerCommands[ValueT],
    AclCommands[ValueT],
    DiagnosticsCommands[ValueT],
    KeyCommands[ValueT],
    StringCommands[ValueT],
    HashCommands[ValueT],
    ListCommands[ValueT],
    SetCommands[ValueT],
    SortedSetCommands[ValueT],
    PubSubCommands[ValueT],
    ScriptingCommands[ValueT],
):
    """Every command group of a standalone client."""


__all__ = ["CoreCommands"]
