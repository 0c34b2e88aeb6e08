"""Credentials: ``credential_provider`` asked again at every connect (a
password rotated between reconnects is picked up), refused credentials as
``AuthenticationError``, and no password in any error, ``repr`` or log, on
every transport (the uds transport carries errors as frame text)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import babushka
import babushka.asyncio
from babushka import CredentialProvider, UsernamePasswordCredentialProvider
from babushka.exceptions import AuthenticationError, DataError
from support.servers import RedisServer

SECRET = "s3cret-never-shown"


class Rotating(CredentialProvider):
    """Gives the current password of a user; counts how often it is asked."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self.calls = 0

    def get_credentials(self) -> tuple[str, str]:
        self.calls += 1
        return (self.username, self.password)


@pytest.fixture
def acl_user(r: babushka.Redis, transport: str) -> Iterator[str]:
    """An ACL user of its own (the server is shared), with password ``first``."""
    name = f"rotator-{transport}"
    r.execute_command("ACL", "SETUSER", name, "reset", "on", ">first", "~*", "+@all")
    yield name
    r.execute_command("ACL", "DELUSER", name)


def test_a_rotated_password_is_picked_up_on_reconnect(
    redis_server: RedisServer, r: babushka.Redis, acl_user: str, transport: str
) -> None:
    provider = Rotating(acl_user, "first")
    client = babushka.Redis(
        port=redis_server.port, transport=transport, credential_provider=provider
    )
    try:
        assert client.execute_command("ACL", "WHOAMI") == acl_user  # str, as redis-py
        client.set("k", "v")
        asked = provider.calls
        # The password changes on the server and in the provider; the old
        # connection is killed, so the next command needs a new one.
        r.execute_command("ACL", "SETUSER", acl_user, "resetpass", ">second")
        provider.password = "second"
        r.execute_command("CLIENT", "KILL", "USER", acl_user)
        assert client.get("k") == b"v"
        assert provider.calls > asked
        assert client.execute_command("ACL", "WHOAMI") == acl_user  # str, as redis-py
    finally:
        client.close()


async def test_the_async_client_asks_the_provider_too(
    redis_server: RedisServer, r: babushka.Redis, acl_user: str, transport: str
) -> None:
    provider = Rotating(acl_user, "first")
    client = babushka.asyncio.Redis(
        port=redis_server.port, transport=transport, credential_provider=provider
    )
    try:
        assert await client.execute_command("ACL", "WHOAMI") == acl_user  # str, as redis-py
        r.execute_command("ACL", "SETUSER", acl_user, "resetpass", ">second")
        provider.password = "second"
        r.execute_command("CLIENT", "KILL", "USER", acl_user)
        # A read-only command first, as in the sync test: ACL WHOAMI is not
        # one, so if it were the first write on the killed connection it
        # would fail rather than be sent again (the retry rule).
        assert await client.get("k") is None
        assert await client.execute_command("ACL", "WHOAMI") == acl_user  # str, as redis-py
        assert provider.calls == 2
    finally:
        await client.aclose()


def test_refused_credentials_raise_authentication_error_without_the_password(
    redis_server: RedisServer, acl_user: str, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    attempts = [
        {"username": acl_user, "password": SECRET},
        {"credential_provider": UsernamePasswordCredentialProvider(acl_user, SECRET)},
        {"credential_provider": Rotating(acl_user, SECRET)},
    ]
    for options in attempts:
        client = babushka.Redis(port=redis_server.port, transport=transport, **options)  # type: ignore[arg-type]
        try:
            with pytest.raises(AuthenticationError) as raised:
                client.ping()
            assert SECRET not in str(raised.value)
            assert SECRET not in repr(raised.value)
            assert SECRET not in repr(client)
        finally:
            client.close()
    assert SECRET not in caplog.text


def test_a_failing_provider_is_an_authentication_error_that_says_why(
    redis_server: RedisServer, transport: str
) -> None:
    class Vault(CredentialProvider):
        def get_credentials(self) -> tuple[str]:
            raise RuntimeError("the vault is sealed")

    class Wrong(CredentialProvider):
        def get_credentials(self) -> tuple[str]:
            return (SECRET, "b", "c")  # type: ignore[return-value]

    for provider, message in ((Vault(), "the vault is sealed"), (Wrong(), "must return")):
        client = babushka.Redis(
            port=redis_server.port, transport=transport, credential_provider=provider
        )
        try:
            with pytest.raises(AuthenticationError, match=message) as raised:
                client.ping()
            assert SECRET not in str(raised.value)
        finally:
            client.close()


def test_provider_keywords_are_checked() -> None:
    with pytest.raises(DataError, match="credential_provider"):
        babushka.Redis(port=1, password="x", credential_provider=Rotating("u", "p"))
    with pytest.raises(DataError, match="get_credentials"):
        babushka.Redis(port=1, credential_provider=object())


def test_the_password_is_not_in_the_clients_repr(redis_server: RedisServer, transport: str) -> None:
    client = babushka.Redis(port=redis_server.port, transport=transport, password=SECRET)
    try:
        assert SECRET not in repr(client)
        assert SECRET not in str(client.connection_kwargs)
    finally:
        client.close()
