"""redis-py's credential providers: an object whose ``get_credentials()``
returns ``(password,)`` or ``(username, password)``.

Pass one as ``credential_provider=``: the core asks it for credentials
every time it opens a connection (the first one and every reconnect), so a
password or token that rotates is picked up by the next connection without
a new client. It is called on a thread of the core's (with the GIL taken
there), or on the uds transport by the thread or event loop that reads the
client's stream; it may block briefly, as redis-py's sync connections let it.
"""

from __future__ import annotations


class CredentialProvider:
    """Gives the credentials to authenticate with; subclass it."""

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        raise NotImplementedError("get_credentials must be implemented")

    async def get_credentials_async(self) -> tuple[str] | tuple[str, str]:
        """For redis-py's asyncio connections; Babushka calls ``get_credentials``."""
        return self.get_credentials()


class UsernamePasswordCredentialProvider(CredentialProvider):
    """Fixed credentials, as ``username=``/``password=`` give them."""

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.username = username or ""
        self.password = password or ""

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        if self.username:
            return self.username, self.password
        return (self.password,)


__all__ = ["CredentialProvider", "UsernamePasswordCredentialProvider"]
