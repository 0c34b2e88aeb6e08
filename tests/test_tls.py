"""TLS: ``ssl=True`` and the ``ssl_*`` keywords, against TLS-only Redis servers
whose certificates the tests make (``support/tls.py``), on every transport.

TLS runs in the core's connection open step, so every transport gets it
without code of its own; these tests check that each one does, and that each
failure says what was wrong.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from babushka import _options, _tls
from support.servers import RedisServer
from support.tls import KEY_PASSWORD, Certificates, TlsServers, require_tls


@pytest.fixture(scope="module")
def certs() -> Iterator[Certificates]:
    made = Certificates.make()
    yield made
    made.remove()


@pytest.fixture(scope="module")
def tls(server_kind: str, certs: Certificates) -> Iterator[TlsServers]:
    """The TLS servers; on a server kind without TLS the test skips."""
    require_tls(server_kind)
    servers = TlsServers(certs)
    yield servers
    servers.stop()


def client(server: RedisServer, transport: str, **options: Any) -> babushka.Redis:
    options.setdefault("host", server.host)
    # A bound on connecting, so a handshake that hangs fails the test instead of
    # hanging the run (a native wait outlives pytest-timeout's signal). It sets
    # no deadline on requests, so the requests' path is the default one.
    options.setdefault("socket_connect_timeout", 10)
    return babushka.Redis(port=server.port, ssl=True, transport=transport, **options)


def fails(server: RedisServer, transport: str, match: str, **options: Any) -> None:
    """A client with ``options`` cannot connect, with a message that matches."""
    with (
        client(server, transport, **options) as r,
        pytest.raises(babushka.ConnectionError, match=match),
    ):
        r.ping()


# --- the right CA ---------------------------------------------------------------------


def test_right_ca_sync(tls: TlsServers, certs: Certificates, transport: str) -> None:
    with client(tls.main, transport, ssl_ca_certs=certs.ca) as r:
        r.flushdb()
        assert r.set("greeting", "hello") is True
        assert r.get("greeting") == b"hello"
        big = b"x" * 300_000  # many TLS records each way
        r.set("big", big)
        assert r.get("big") == big
        with r.pipeline() as pipe:  # MULTI/EXEC
            pipe.incr("visits").incr("visits").get("greeting")
            assert pipe.execute() == [1, 2, b"hello"]
        with r.pipeline(transaction=False) as pipe:
            pipe.set("a", 1).get("a")
            assert pipe.execute() == [True, b"1"]
        # Dedicated connections (a WATCH session, a blocking command) use TLS too.
        with r.pipeline() as pipe:
            pipe.watch("greeting")
            assert pipe.get("greeting") == b"hello"
            pipe.multi()
            pipe.set("greeting", "hi")
            assert pipe.execute() == [True]
        r.rpush("jobs", "j1")
        assert r.blpop("jobs", timeout=1) == (b"jobs", b"j1")


def test_subscribers_speak_tls(tls: TlsServers, certs: Certificates, transport: str) -> None:
    # A subscriber's connection opens through the client's TLS set-up too.
    with client(tls.main, transport, ssl_ca_certs=certs.ca) as r, r.pubsub() as p:
        p.subscribe("tls-news")
        assert p.get_message(timeout=5) == {
            "type": "subscribe",
            "pattern": None,
            "channel": b"tls-news",
            "data": 1,
        }
        assert r.publish("tls-news", "secret") == 1
        assert p.get_message(timeout=5) == {
            "type": "message",
            "pattern": None,
            "channel": b"tls-news",
            "data": b"secret",
        }


async def test_right_ca_async(tls: TlsServers, certs: Certificates, transport: str) -> None:
    server = tls.main
    async with babushka.asyncio.Redis(
        host="localhost",
        port=server.port,
        ssl=True,
        ssl_ca_certs=certs.ca,
        socket_connect_timeout=10,
        transport=transport,
    ) as r:
        await r.flushdb()
        assert await r.set("k", "v") is True
        values = await asyncio.gather(*(r.incr("counter") for _ in range(200)))
        assert sorted(values) == list(range(1, 201))
        async with r.pipeline() as pipe:
            pipe.set("p", "1").incr("p").get("p")
            assert await pipe.execute() == [True, 2, b"2"]
        await r.rpush("jobs", "j1")
        assert await r.blpop("jobs", timeout=1) == (b"jobs", b"j1")


def test_one_request_at_a_time_without_deadline(
    tls: TlsServers, certs: Certificates, transport: str
) -> None:
    """One caller, one request in flight, no socket_timeout: the path where a
    plain connection writes from the caller's thread straight to the socket. Over
    TLS that write would put plaintext into the TLS stream and the server would
    drop the connection, so each of these would fail."""
    with client(tls.main, transport, ssl_ca_certs=certs.ca) as r:
        for i in range(300):
            value = str(i).encode() * (1 + i % 50)
            assert r.set(f"k{i % 7}", value) is True
            assert r.get(f"k{i % 7}") == value


async def test_one_task_without_deadline(
    tls: TlsServers, certs: Certificates, transport: str
) -> None:
    async with babushka.asyncio.Redis(
        host=tls.main.host,
        port=tls.main.port,
        ssl=True,
        ssl_ca_certs=certs.ca,
        socket_connect_timeout=10,
        transport=transport,
    ) as r:
        for i in range(300):
            assert await r.set("k", i) is True
            assert await r.get("k") == str(i).encode()


def test_trust_from_directory_and_data(
    tls: TlsServers, certs: Certificates, transport: str
) -> None:
    ca_dir = certs.directory / "trusted"
    ca_dir.mkdir(exist_ok=True)
    (ca_dir / "ca.pem").write_bytes(certs.ca.read_bytes())
    pem = certs.ca.read_text()
    der = ssl.PEM_cert_to_DER_cert(pem)
    for options in ({"ssl_ca_path": ca_dir}, {"ssl_ca_data": pem}, {"ssl_ca_data": der}):
        with client(tls.main, transport, **options) as r:
            assert r.ping() is True, options


@pytest.mark.parametrize("scheme", ["rediss", "valkeys"])
def test_from_url(tls: TlsServers, certs: Certificates, transport: str, scheme: str) -> None:
    url = (
        f"{scheme}://localhost:{tls.main.port}/2?ssl_ca_certs={certs.ca}"
        f"&ssl_cert_reqs=required&ssl_min_version=TLSv1_2&transport={transport}"
        "&socket_connect_timeout=10"
    )
    with babushka.Redis.from_url(url) as r:
        r.set("where", "db2")
        assert r.info("keyspace")["db2"]["keys"] >= 1


@pytest.mark.parametrize("cert_reqs", ["required", "optional", ssl.CERT_REQUIRED])
def test_cert_reqs_that_verify(
    tls: TlsServers, certs: Certificates, transport: str, cert_reqs: Any
) -> None:
    with client(tls.main, transport, ssl_ca_certs=certs.ca, ssl_cert_reqs=cert_reqs) as r:
        assert r.ping() is True
    fails(
        tls.main, transport, "unknown issuer", ssl_ca_certs=certs.other_ca, ssl_cert_reqs=cert_reqs
    )


def test_forked_child_opens_its_own_tls_connection(
    tls: TlsServers, certs: Certificates, transport: str
) -> None:
    """A TLS session cannot be shared: after fork the child handshakes anew and
    the parent's session goes on. In a fresh interpreter, so a hang times out."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import babushka
        r = babushka.Redis(port={tls.main.port}, ssl=True, ssl_ca_certs={str(certs.ca)!r},
                           socket_connect_timeout=10, transport={transport!r})
        r.set("fork:tls", "parent")
        pid = os.fork()
        if pid == 0:
            signal.alarm(20)
            ok = r.get("fork:tls") == b"parent" and r.set("fork:tls:child", "c")
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child failed"
        for i in range(50):
            assert r.incr("fork:tls:n") == i + 1
        assert r.get("fork:tls:child") == b"c"
        print("ok")
        """
    )
    with client(tls.main, transport, ssl_ca_certs=certs.ca) as r:
        r.delete("fork:tls:n", "fork:tls:child")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90, check=False
    )
    assert done.returncode == 0 and done.stdout == "ok\n", done.stdout + done.stderr


def test_url_parameters() -> None:
    options = _options.parse_url(
        "rediss://u:p@h:6380/1?ssl_cert_reqs=none&ssl_check_hostname=false"
        "&ssl_ca_certs=/ca.pem&ssl_min_version=772&ssl_ciphers=TLS_AES_128_GCM_SHA256"
    )
    assert options == {
        "ssl": True,
        "host": "h",
        "port": 6380,
        "db": 1,
        "username": "u",
        "password": "p",
        "ssl_cert_reqs": "none",
        "ssl_check_hostname": False,
        "ssl_ca_certs": "/ca.pem",
        "ssl_min_version": "772",
        "ssl_ciphers": "TLS_AES_128_GCM_SHA256",
    }
    assert _options.parse_url("valkeys://h")["ssl"] is True
    assert "ssl" not in _options.parse_url("valkey://h")


# --- what must fail -------------------------------------------------------------------


def test_wrong_ca_fails(tls: TlsServers, certs: Certificates, transport: str) -> None:
    fails(tls.main, transport, "unknown issuer", ssl_ca_certs=certs.other_ca)
    # A server whose certificate another CA signed.
    fails(tls.foreign, transport, "unknown issuer", ssl_ca_certs=certs.ca)


def test_system_trust_store_by_default(tls: TlsServers, transport: str) -> None:
    """Without ssl_ca_*, the system's trust store is what is trusted (the
    test CA is not in it). A machine with no store at all says so."""
    try:
        r = client(tls.main, transport)
    except babushka.DataError as error:
        assert "trust store is empty or missing" in str(error)
        pytest.skip("this machine has no system trust store")
    with r, pytest.raises(babushka.ConnectionError, match="unknown issuer"):
        r.ping()


def test_hostname_mismatch(tls: TlsServers, certs: Certificates, transport: str) -> None:
    fails(
        tls.wrong_name,
        transport,
        "hostname mismatch.*not valid for 127.0.0.1; it names elsewhere.invalid ",
        ssl_ca_certs=certs.ca,
    )
    with client(tls.wrong_name, transport, ssl_ca_certs=certs.ca, ssl_check_hostname=False) as r:
        assert r.ping() is True
    # Not checking the name still checks the chain.
    fails(
        tls.wrong_name,
        transport,
        "unknown issuer",
        ssl_ca_certs=certs.other_ca,
        ssl_check_hostname=False,
    )


def test_expired_certificate_fails(tls: TlsServers, certs: Certificates, transport: str) -> None:
    fails(tls.expired, transport, "certificate has expired.*2020-02-01", ssl_ca_certs=certs.ca)


@pytest.mark.parametrize("cert_reqs", ["none", None, ssl.CERT_NONE])
def test_cert_reqs_none_accepts_a_self_signed_server(
    tls: TlsServers, certs: Certificates, transport: str, cert_reqs: Any
) -> None:
    fails(tls.self_signed, transport, "unknown issuer", ssl_ca_certs=certs.ca)
    with client(tls.self_signed, transport, ssl_cert_reqs=cert_reqs) as r:
        assert r.ping() is True
    # Nothing is checked: not the date, not the name.
    with client(tls.expired, transport, ssl_cert_reqs=cert_reqs) as r:
        assert r.ping() is True
    with client(tls.wrong_name, transport, ssl_cert_reqs=cert_reqs) as r:
        assert r.ping() is True


# --- mutual TLS -----------------------------------------------------------------------


def test_mutual_tls(tls: TlsServers, certs: Certificates, transport: str) -> None:
    trusted = {"ssl_ca_certs": certs.ca}
    with client(
        tls.mutual, transport, ssl_certfile=certs.client, ssl_keyfile=certs.client_key, **trusted
    ) as r:
        assert r.set("mutual", "yes") is True
        assert r.get("mutual") == b"yes"
    fails(tls.mutual, transport, "requires a client certificate", **trusted)
    fails(
        tls.mutual,
        transport,
        "rejected the client certificate",
        ssl_certfile=certs.foreign_client,
        ssl_keyfile=certs.client_key,
        **trusted,
    )


@pytest.mark.parametrize(
    "password", [KEY_PASSWORD, KEY_PASSWORD.encode(), lambda: KEY_PASSWORD], ids=str
)
def test_mutual_tls_with_an_encrypted_key(
    tls: TlsServers, certs: Certificates, transport: str, password: Any
) -> None:
    with client(
        tls.mutual,
        transport,
        ssl_ca_certs=certs.ca,
        ssl_certfile=certs.client,
        ssl_keyfile=certs.client_key_encrypted,
        ssl_password=password,
    ) as r:
        assert r.ping() is True


def test_certificate_and_key_in_one_file(
    tls: TlsServers, certs: Certificates, transport: str
) -> None:
    both = certs.directory / "client-and-key.pem"
    both.write_bytes(certs.client.read_bytes() + certs.client_key.read_bytes())
    with client(tls.mutual, transport, ssl_ca_certs=certs.ca, ssl_certfile=both) as r:
        assert r.ping() is True


# --- versions and cipher suites -------------------------------------------------------


def test_min_version(tls: TlsServers, certs: Certificates, transport: str) -> None:
    trusted = {"ssl_ca_certs": certs.ca}
    with client(tls.main, transport, ssl_min_version=ssl.TLSVersion.TLSv1_3, **trusted) as r:
        assert r.ping() is True
    with client(tls.tls12_one_suite, transport, **trusted) as r:
        assert r.ping() is True
    fails(
        tls.tls12_one_suite,
        transport,
        "ssl_min_version",
        ssl_min_version=ssl.TLSVersion.TLSv1_3,
        **trusted,
    )


def test_ciphers(tls: TlsServers, certs: Certificates, transport: str) -> None:
    trusted = {"ssl_ca_certs": certs.ca}
    for name in ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"):
        with client(tls.tls12_one_suite, transport, ssl_ciphers=name, **trusted) as r:
            assert r.ping() is True
    fails(
        tls.tls12_one_suite,
        transport,
        "cipher suites",
        ssl_ciphers="ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305",
        **trusted,
    )
    # TLS 1.2 names leave TLS 1.3's suites alone (as OpenSSL's set_ciphers does).
    with client(tls.main, transport, ssl_ciphers="ECDHE-RSA-AES128-GCM-SHA256", **trusted) as r:
        assert r.ping() is True


# --- other failures -------------------------------------------------------------------


def test_a_port_that_does_not_speak_tls(transport: str) -> None:
    """A listener that answers the TLS hello in plain RESP, as a plain Redis port
    does when the hello happens to hold a newline (otherwise Redis waits for one,
    and only a timeout ends the wait)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"-ERR unknown command\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        with (
            babushka.Redis(
                host="127.0.0.1",
                port=port,
                ssl=True,
                ssl_cert_reqs="none",
                socket_connect_timeout=10,
                transport=transport,
            ) as r,
            pytest.raises(babushka.ConnectionError, match="did not answer in TLS"),
        ):
            r.ping()
        thread.join(timeout=10)


def test_connect_timeout_covers_the_tls_handshake(transport: str) -> None:
    """A listener that never accepts: the kernel completes the TCP connect from
    its backlog, the TLS handshake then waits for a server hello that never
    comes, and the connect timeout ends it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        with (
            babushka.Redis(
                host="127.0.0.1",
                port=port,
                ssl=True,
                ssl_cert_reqs="none",
                socket_connect_timeout=0.3,
                transport=transport,
            ) as r,
            pytest.raises(babushka.TimeoutError),
        ):
            r.ping()


# --- settings refused before anything is sent ------------------------------------------


def test_settings_errors_name_the_keyword(certs: Certificates) -> None:
    (certs.directory / "empty-dir").mkdir(exist_ok=True)

    def refused(match: str, **options: Any) -> None:
        options.setdefault("ssl_ca_certs", certs.ca)  # whatever the system's store
        with pytest.raises(babushka.DataError, match=match):
            babushka.Redis(ssl=True, **options)

    refused("ssl_ciphers.*HIGH.*OpenSSL cipher expressions", ssl_ciphers="HIGH:!aNULL")
    refused("ssl_ca_certs: cannot read", ssl_ca_certs=certs.directory / "missing.pem")
    refused("ssl_ca_certs.*no PEM certificate", ssl_ca_certs=certs.client_key)
    refused("ssl_ca_path.*no PEM certificate", ssl_ca_path=certs.directory / "empty-dir")
    refused("ssl_ca_data", ssl_ca_data=b"neither PEM nor DER")
    refused("ssl_keyfile needs ssl_certfile", ssl_keyfile=certs.client_key)
    refused("ssl_certfile.*no private key", ssl_certfile=certs.client)
    refused(
        "encrypted: pass its password as ssl_password",
        ssl_certfile=certs.client,
        ssl_keyfile=certs.client_key_encrypted,
    )
    refused(
        "cannot decrypt.*ssl_password",
        ssl_certfile=certs.client,
        ssl_keyfile=certs.client_key_encrypted,
        ssl_password="wrong",
    )
    refused(
        "does not belong to the certificate",
        ssl_certfile=certs.client,
        ssl_keyfile=certs.server_key,
    )
    refused("ssl_cert_reqs", ssl_cert_reqs="sometimes")
    refused("ssl_min_version", ssl_min_version="TLSv9")
    refused("Unix socket", unix_socket_path="/tmp/redis.sock")
    with pytest.raises(NotImplementedError, match="ssl_validate_ocsp"):
        babushka.Redis(ssl=True, ssl_validate_ocsp=True)
    with pytest.raises(NotImplementedError, match="ssl_include_verify_flags"):
        babushka.Redis(ssl=True, ssl_include_verify_flags=[ssl.VERIFY_X509_STRICT])
    # At their defaults they are accepted, as redis-py code passes them.
    babushka.Redis(
        ssl=True, ssl_ca_certs=certs.ca, ssl_validate_ocsp=False, ssl_ocsp_context=None
    ).close()
    # Without ssl=True the ssl_* keywords mean nothing, as in redis-py.
    babushka.Redis(ssl_ciphers="HIGH", ssl_ca_certs="/nowhere", ssl_validate_ocsp=True).close()


def test_min_version_forms() -> None:
    assert _tls._min_version(None) == 12
    assert _tls._min_version(ssl.TLSVersion.TLSv1) == 12  # nothing below 1.2 exists here
    assert _tls._min_version(ssl.TLSVersion.TLSv1_3) == 13
    assert _tls._min_version(ssl.TLSVersion.MAXIMUM_SUPPORTED) == 13
    assert _tls._min_version("771") == 12  # redis-py's URL form: the number
    assert _tls._min_version("TLSv1.3") == 13
