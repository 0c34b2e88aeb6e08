"""Geo commands: GEOADD, GEOPOS, GEOSEARCH, GEORADIUS and friends.

Results with ``withdist``/``withhash``/``withcoord`` come back as redis-py
gives them (``[name, dist, hash, (lon, lat)]``), built by the core from the
reply itself (the ``GEO_RESULTS`` shape), so the same on either protocol.
"""

from __future__ import annotations

from typing import Any, Sequence

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT, KeyT, ResponseT, require_int
from babushka.exceptions import DataError

UNITS = ("m", "km", "mi", "ft")


def _unit(unit: object, name: str = "unit") -> str:
    if not isinstance(unit, str) or unit.lower() not in UNITS:
        raise DataError(f"{name} must be one of {', '.join(UNITS)}, got {unit!r}")
    return unit.lower()


def _sort(sort: str | None) -> list[str]:
    if sort is None:
        return []
    word = sort.upper() if isinstance(sort, str) else None
    if word not in ("ASC", "DESC"):
        raise DataError(f"sort must be ASC or DESC, got {sort!r}")
    return [word]


def _count(count: int | None, any: bool) -> list[Any]:
    if count is None:
        if any:
            raise DataError("any needs count")
        return []
    if require_int(count, "count") < 1:
        raise DataError(f"count must be positive, got {count}")
    return ["COUNT", count, *(["ANY"] if any else [])]


def _with(withdist: bool, withcoord: bool, withhash: bool) -> list[str]:
    flags = (("WITHDIST", withdist), ("WITHCOORD", withcoord), ("WITHHASH", withhash))
    return [word for word, on in flags if on]


def _search(
    member: EncodableT | None,
    longitude: float | None,
    latitude: float | None,
    unit: str,
    radius: float | None,
    width: float | None,
    height: float | None,
    sort: str | None,
    count: int | None,
    any: bool,
) -> list[Any]:
    """The words GEOSEARCH and GEOSEARCHSTORE share: ``FROMMEMBER|FROMLONLAT``,
    ``BYRADIUS|BYBOX``, ``ASC|DESC`` and ``COUNT n [ANY]``."""
    words: list[Any] = []
    lonlat = longitude is not None or latitude is not None
    if member is not None and lonlat:
        raise DataError("give member or longitude and latitude, not both")
    if member is not None:
        words += ["FROMMEMBER", member]
    elif longitude is not None and latitude is not None:
        words += ["FROMLONLAT", longitude, latitude]
    else:
        raise DataError("geosearch needs member, or longitude and latitude")
    box = width is not None or height is not None
    if radius is not None and box:
        raise DataError("give radius or width and height, not both")
    if radius is not None:
        words += ["BYRADIUS", radius, _unit(unit)]
    elif width is not None and height is not None:
        words += ["BYBOX", width, height, _unit(unit)]
    else:
        raise DataError("geosearch needs radius, or width and height")
    return words + _sort(sort) + _count(count, any)


class GeoCommands(CommandsBase[ValueT]):
    def geoadd(
        self,
        name: KeyT,
        values: Sequence[EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
    ) -> Reply[int]:
        """Adds places from a flat ``[lon, lat, name, ...]``; returns how many
        were added (changed, with ``ch``) (https://redis.io/docs/latest/commands/geoadd/)."""
        if nx and xx:
            raise DataError("nx and xx are mutually exclusive")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise DataError("values must be a flat sequence [lon, lat, name, ...]")
        if not values or len(values) % 3:
            raise DataError("values must hold longitude, latitude and name triples")
        flags = [word for word, on in (("NX", nx), ("XX", xx), ("CH", ch)) if on]
        return self._execute(S.RAW, "GEOADD", name, *flags, *values)

    def geodist(
        self, name: KeyT, place1: EncodableT, place2: EncodableT, unit: str | None = None
    ) -> Reply[float | None]:
        """The distance between two places as a float, ``None`` if one is
        missing (https://redis.io/docs/latest/commands/geodist/)."""
        if unit is None:
            return self._execute(S.FLOAT, "GEODIST", name, place1, place2)
        return self._execute(S.FLOAT, "GEODIST", name, place1, place2, _unit(unit))

    def geohash(self, name: KeyT, *values: EncodableT) -> Reply[list[str | None]]:
        """Each place's geohash as ``str`` (``None`` when missing)
        (https://redis.io/docs/latest/commands/geohash/)."""
        return self._execute(S.STR_LIST, "GEOHASH", name, *values)

    def geopos(self, name: KeyT, *values: EncodableT) -> Reply[list[tuple[float, float] | None]]:
        """Each place's ``(longitude, latitude)`` (``None`` when missing)
        (https://redis.io/docs/latest/commands/geopos/)."""
        return self._execute(S.COORDS, "GEOPOS", name, *values)

    def _georadius(
        self,
        words: list[Any],
        unit: str | None,
        withdist: bool,
        withcoord: bool,
        withhash: bool,
        count: int | None,
        sort: str | None,
        store: KeyT | None,
        store_dist: KeyT | None,
        any: bool,
    ) -> ResponseT:
        words.append("m" if unit is None else _unit(unit))
        words += _with(withdist, withcoord, withhash)
        words += _count(count, any)
        words += _sort(sort)
        if store is not None and store_dist is not None:
            raise DataError("store and store_dist are mutually exclusive")
        if store is not None:
            words += ["STORE", store]
        if store_dist is not None:
            words += ["STOREDIST", store_dist]
        return self._execute(S.GEO_RESULTS, *words)

    def georadius(
        self,
        name: KeyT,
        longitude: float,
        latitude: float,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: KeyT | None = None,
        store_dist: KeyT | None = None,
        any: bool = False,
    ) -> Reply[list[Any] | int]:
        """Places within ``radius`` of a point (deprecated by the server for
        GEOSEARCH) (https://redis.io/docs/latest/commands/georadius/)."""
        words: list[Any] = ["GEORADIUS", name, longitude, latitude, radius]
        return self._georadius(
            words, unit, withdist, withcoord, withhash, count, sort, store, store_dist, any
        )

    def georadiusbymember(
        self,
        name: KeyT,
        member: EncodableT,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: KeyT | None = None,
        store_dist: KeyT | None = None,
        any: bool = False,
    ) -> Reply[list[Any] | int]:
        """Places within ``radius`` of a member
        (https://redis.io/docs/latest/commands/georadiusbymember/)."""
        words: list[Any] = ["GEORADIUSBYMEMBER", name, member, radius]
        return self._georadius(
            words, unit, withdist, withcoord, withhash, count, sort, store, store_dist, any
        )

    def geosearch(
        self,
        name: KeyT,
        member: EncodableT | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        withcoord: bool = False,
        withdist: bool = False,
        withhash: bool = False,
    ) -> Reply[list[Any]]:
        """Places within a radius or a box of a member or a point
        (https://redis.io/docs/latest/commands/geosearch/)."""
        words = _search(member, longitude, latitude, unit, radius, width, height, sort, count, any)
        words += _with(withdist, withcoord, withhash)
        return self._execute(S.GEO_RESULTS, "GEOSEARCH", name, *words)

    def geosearchstore(
        self,
        dest: KeyT,
        name: KeyT,
        member: EncodableT | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        storedist: bool = False,
    ) -> Reply[int]:
        """Stores what ``geosearch`` finds in ``dest``; returns how many
        (https://redis.io/docs/latest/commands/geosearchstore/)."""
        words = _search(member, longitude, latitude, unit, radius, width, height, sort, count, any)
        if storedist:
            words.append("STOREDIST")
        return self._execute(S.RAW, "GEOSEARCHSTORE", dest, name, *words)
