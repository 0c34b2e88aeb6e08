"""The command surface, one module per command group.

Each group is a mixin of methods written once for both clients (see
``base.py``); :class:`CoreCommands` combines them.
"""

from __future__ import annotations

from babushka._typing import ValueT
from babushka.commands.acl import AclCommands
from babushka.commands.arrays import ArrayCommands
from babushka.commands.bitmaps import BitmapCommands
from babushka.commands.client_admin import ClientCommands
from babushka.commands.connection import ConnectionCommands
from babushka.commands.diagnostics import DiagnosticsCommands
from babushka.commands.geo import GeoCommands
from babushka.commands.hash_fields import HashFieldCommands
from babushka.commands.hashes import HashCommands
from babushka.commands.hyperloglog import HyperLogLogCommands
from babushka.commands.keys import KeyCommands
from babushka.commands.lists import ListCommands
from babushka.commands.pubsub import PubSubCommands
from babushka.commands.scripting import ScriptingCommands
from babushka.commands.sentinel import SentinelCommands
from babushka.commands.server import ServerCommands
from babushka.commands.sets import SetCommands
from babushka.commands.sorted_set_algebra import SortedSetAlgebraCommands
from babushka.commands.sorted_sets import SortedSetCommands
from babushka.commands.sorting import SortCommands
from babushka.commands.streams import StreamCommands
from babushka.commands.streams_redis8 import StreamRedis8Commands
from babushka.commands.strings import StringCommands


class CoreCommands(
    ConnectionCommands[ValueT],
    ClientCommands[ValueT],
    ServerCommands[ValueT],
    AclCommands[ValueT],
    DiagnosticsCommands[ValueT],
    KeyCommands[ValueT],
    SortCommands[ValueT],
    StringCommands[ValueT],
    BitmapCommands[ValueT],
    HashCommands[ValueT],
    HashFieldCommands[ValueT],
    ListCommands[ValueT],
    SetCommands[ValueT],
    SortedSetAlgebraCommands[ValueT],
    SortedSetCommands[ValueT],
    StreamCommands[ValueT],
    StreamRedis8Commands[ValueT],
    GeoCommands[ValueT],
    HyperLogLogCommands[ValueT],
    ArrayCommands[ValueT],
    PubSubCommands[ValueT],
    ScriptingCommands[ValueT],
    SentinelCommands[ValueT],
):
    """Every command group of a standalone client."""


__all__ = ["CoreCommands"]
