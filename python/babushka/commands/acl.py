"""ACL commands: users, their rules, the log."""

from __future__ import annotations

from typing import Any, Iterable

from babushka import _shapes as S
from babushka._typing import Reply, ValueT
from babushka.commands.base import CommandsBase, EncodableT
from babushka.exceptions import DataError


def _rule_bytes(value: object, name: str) -> bytes:
    """A rule's text as bytes (rules are ASCII; passwords and keys may not be)."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise DataError(f"{name} must be str or bytes, got {type(value).__name__}")


def _items(value: Iterable[Any] | str | bytes, name: str) -> list[Any]:
    """One item or an iterable of them (redis-py's ``list_or_args``)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise DataError(f"{name} must be a str, bytes or an iterable of them") from None


def _passwords(values: Any, add: bytes, remove: bytes, name: str) -> list[bytes]:
    """``+secret`` adds a password (``>secret``), ``-secret`` removes one
    (``<secret``); for hashes ``#`` and ``!``."""
    rules = []
    for at, value in enumerate(_items(values, name)):
        text = _rule_bytes(value, name)
        if text.startswith(b"+"):
            rules.append(add + text[1:])
        elif text.startswith(b"-"):
            rules.append(remove + text[1:])
        else:
            raise DataError(f'{name}[{at}] must be prefixed with a "+" to add or a "-" to remove')
    return rules


def _category(value: object) -> bytes:
    text = _rule_bytes(value, "categories")
    if text[:1] not in (b"+", b"-"):
        raise DataError(f"category {text!r} must be prefixed with '+' or '-'")
    return text if text[1:2] == b"@" else text[:1] + b"@" + text[1:]


def _command_rule(value: object, name: str) -> bytes:
    text = _rule_bytes(value, name)
    if text[:1] not in (b"+", b"-"):
        raise DataError(f"command {text!r} in {name} must be prefixed with '+' or '-'")
    return text


def _key_pattern(value: object, name: str) -> bytes:
    """A key pattern: ``~pattern`` unless it already says ``~`` or ``%R~``/``%W~``."""
    text = _rule_bytes(value, name)
    return text if text[:1] in (b"~", b"%") else b"~" + text


class AclCommands(CommandsBase[ValueT]):
    def acl_cat(self, category: str | None = None) -> Reply[list[str]]:
        """The ACL categories, or the commands of one.
        https://redis.io/docs/latest/commands/acl-cat/"""
        words = [category] if category else []
        return self._execute(S.STR_LIST, "ACL", "CAT", *words)

    def acl_deluser(self, *username: str) -> Reply[int]:
        """Deletes users; how many existed. https://redis.io/docs/latest/commands/acl-deluser/"""
        if not username:
            raise DataError("acl_deluser needs at least one username")
        return self._execute(S.RAW, "ACL", "DELUSER", *username)

    def acl_dryrun(self, username: str, *args: EncodableT) -> Reply[ValueT]:
        """Whether ``username`` could run the command ``args`` (``OK``, or why not).
        https://redis.io/docs/latest/commands/acl-dryrun/"""
        if not args:
            raise DataError("acl_dryrun needs the command to try")
        return self._execute(S.RAW, "ACL", "DRYRUN", username, *args)

    def acl_genpass(self, bits: int | None = None) -> Reply[str]:
        """A random password (``bits`` of it, 256 by default) as ``str``.
        https://redis.io/docs/latest/commands/acl-genpass/"""
        words: list[Any] = []
        if bits is not None:
            try:
                count = int(bits)
            except (TypeError, ValueError):
                count = -1
            if isinstance(bits, bool) or not 0 <= count <= 4096:
                raise DataError("genpass optionally accepts a bits argument, between 0 and 4096.")
            words.append(count)
        return self._execute(S.STR, "ACL", "GENPASS", *words)

    def acl_getuser(self, username: str) -> Reply[dict[str, Any] | None]:
        """A user's rules as a dict (``flags``, ``passwords``, ``commands``,
        ``categories``, ``keys``, ``channels``, ``selectors``, ``enabled``), or
        ``None``. https://redis.io/docs/latest/commands/acl-getuser/"""
        return self._execute(S.ACL_GETUSER, "ACL", "GETUSER", username)

    def acl_help(self) -> Reply[list[str]]:
        """ACL's help text, as ``str`` lines. https://redis.io/docs/latest/commands/acl-help/"""
        return self._execute(S.STR_LIST, "ACL", "HELP")

    def acl_list(self) -> Reply[list[str]]:
        """Every user's rules, as ``str``. https://redis.io/docs/latest/commands/acl-list/"""
        return self._execute(S.STR_LIST, "ACL", "LIST")

    def acl_log(self, count: int | None = None) -> Reply[list[dict[str, Any]]]:
        """The latest refused commands and logins, as dicts.
        https://redis.io/docs/latest/commands/acl-log/"""
        words: list[Any] = []
        if count is not None:
            if isinstance(count, bool) or not isinstance(count, int):
                raise DataError("ACL LOG count must be an integer")
            words.append(count)
        return self._execute(S.ACL_LOG, "ACL", "LOG", *words)

    def acl_log_reset(self) -> Reply[bool]:
        """Empties the ACL log. https://redis.io/docs/latest/commands/acl-log/"""
        return self._execute(S.ACL_LOG, "ACL", "LOG", "RESET")

    def acl_load(self) -> Reply[bool]:
        """Reloads the users from the ACL file. https://redis.io/docs/latest/commands/acl-load/"""
        return self._execute(S.OK, "ACL", "LOAD")

    def acl_save(self) -> Reply[bool]:
        """Writes the users to the ACL file. https://redis.io/docs/latest/commands/acl-save/"""
        return self._execute(S.OK, "ACL", "SAVE")

    def acl_users(self) -> Reply[list[str]]:
        """The usernames, as ``str``. https://redis.io/docs/latest/commands/acl-users/"""
        return self._execute(S.STR_LIST, "ACL", "USERS")

    def acl_whoami(self) -> Reply[str]:
        """The shared connection's user, as ``str``.
        https://redis.io/docs/latest/commands/acl-whoami/"""
        return self._execute(S.STR, "ACL", "WHOAMI")

    def acl_setuser(
        self,
        username: str,
        enabled: bool = False,
        nopass: bool = False,
        passwords: Any = None,
        hashed_passwords: Any = None,
        categories: Iterable[EncodableT] | None = None,
        commands: Iterable[EncodableT] | None = None,
        keys: Iterable[EncodableT] | None = None,
        channels: Iterable[EncodableT] | None = None,
        selectors: Iterable[tuple[EncodableT, EncodableT]] | None = None,
        reset: bool = False,
        reset_keys: bool = False,
        reset_channels: bool = False,
        reset_passwords: bool = False,
    ) -> Reply[bool]:
        """Creates or changes a user, with redis-py's keywords: ``passwords``
        and ``hashed_passwords`` prefixed ``+`` (add) or ``-`` (remove),
        ``categories`` and ``commands`` prefixed ``+`` or ``-``, ``keys``
        patterns (``~`` added unless given, or ``%R~``), ``channels`` patterns,
        ``selectors`` as ``(command, key)`` pairs; the ``reset*`` rules come
        first, then ``on``/``off``. https://redis.io/docs/latest/commands/acl-setuser/"""
        if (passwords or hashed_passwords) and nopass:
            raise DataError("Cannot set 'nopass' and supply 'passwords' or 'hashed_passwords'")
        resets = (
            (reset, b"reset"),
            (reset_keys, b"resetkeys"),
            (reset_channels, b"resetchannels"),
            (reset_passwords, b"resetpass"),
        )
        rules: list[bytes] = [rule for given, rule in resets if given]
        rules.append(b"on" if enabled else b"off")
        if passwords:
            rules += _passwords(passwords, b">", b"<", "passwords")
        if hashed_passwords:
            rules += _passwords(hashed_passwords, b"#", b"!", "hashed_passwords")
        if nopass:
            rules.append(b"nopass")
        rules += [_category(category) for category in categories or ()]
        rules += [_command_rule(command, "commands") for command in commands or ()]
        rules += [_key_pattern(key, "keys") for key in keys or ()]
        rules += [b"&" + _rule_bytes(channel, "channels") for channel in channels or ()]
        for selector in selectors or ():
            try:
                command, key = selector
            except (TypeError, ValueError):
                raise DataError("each selector must be a (command, key) pair") from None
            command_rule = _command_rule(command, "selectors")
            rules.append(b"(" + command_rule + b" " + _key_pattern(key, "selectors") + b")")
        return self._execute(S.OK, "ACL", "SETUSER", username, *rules)
