"""TLS: redis-py's ``ssl_*`` keywords turned into the core's settings.

This module only normalises what redis-py accepts in several forms (``"none"``
or ``ssl.CERT_NONE``, an ``ssl.TLSVersion``, a password callback); the core
reads the files, decrypts the key, checks the cipher names and raises for
anything it cannot use, so every transport behaves the same.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from typing import Any, Union

from babushka import _core
from babushka.exceptions import DataError

#: redis-py keywords for OpenSSL features that rustls does not have. Each is
#: accepted at its default and refused otherwise: accepting a check and then
#: not making it would be worse than saying so.
UNSUPPORTED: Mapping[str, str] = {
    "ssl_validate_ocsp": "OCSP checks",
    "ssl_validate_ocsp_stapled": "OCSP staple checks",
    "ssl_ocsp_context": "OCSP checks",
    "ssl_ocsp_expected_cert": "OCSP checks",
    "ssl_include_verify_flags": "OpenSSL's verify flags",
    "ssl_exclude_verify_flags": "OpenSSL's verify flags",
}

CertReqs = Union[str, int, None]  # "none" | "optional" | "required" | ssl.VerifyMode
Path = Union[str, os.PathLike[str]]
Password = Union[str, bytes, bytearray, Callable[[], Union[str, bytes, bytearray]]]
TlsVersionLike = Union[ssl.TLSVersion, int, str]

_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}

# rustls speaks TLS 1.2 and 1.3: every minimum up to 1.2 allows both, as it
# allows nothing below 1.2 anyway; 1.3 and "the highest there is" allow 1.3.
_MIN_VERSIONS = {
    ssl.TLSVersion.MINIMUM_SUPPORTED: 12,
    ssl.TLSVersion.SSLv3: 12,
    ssl.TLSVersion.TLSv1: 12,
    ssl.TLSVersion.TLSv1_1: 12,
    ssl.TLSVersion.TLSv1_2: 12,
    ssl.TLSVersion.TLSv1_3: 13,
    ssl.TLSVersion.MAXIMUM_SUPPORTED: 13,
}


def settings(
    *,
    cert_reqs: CertReqs,
    check_hostname: bool,
    ca_certs: Path | None,
    ca_path: Path | None,
    ca_data: str | bytes | None,
    certfile: Path | None,
    keyfile: Path | None,
    password: Password | None,
    min_version: TlsVersionLike | None,
    ciphers: str | None,
    unsupported: Mapping[str, Any],
) -> _core.TlsSettings:
    """The core's TLS settings for ``ssl=True`` and the ``ssl_*`` keywords
    (``unsupported``: the value of each keyword ``UNSUPPORTED`` names)."""
    for name, feature in UNSUPPORTED.items():
        if unsupported.get(name) not in (None, False, [], ()):
            raise NotImplementedError(
                f"{name}: Babushka's TLS is rustls, which has no {feature}; leave it unset"
            )
    verify = verify_mode(cert_reqs) != ssl.CERT_NONE
    return _core.TlsSettings(
        verify_peer=verify,
        # As redis-py: nothing is checked without verification, names neither.
        check_hostname=verify and bool(check_hostname),
        ca_file=_path("ssl_ca_certs", ca_certs),
        ca_dir=_path("ssl_ca_path", ca_path),
        ca_data=_ca_data(ca_data),
        cert_file=_path("ssl_certfile", certfile),
        key_file=_path("ssl_keyfile", keyfile),
        key_password=_password(password),
        min_version=_min_version(min_version),
        ciphers=_ciphers(ciphers),
    )


def verify_mode(cert_reqs: CertReqs) -> ssl.VerifyMode:
    """``ssl_cert_reqs`` as redis-py takes it: ``None`` (no verification),
    ``"none"``, ``"optional"``, ``"required"`` or an ``ssl.VerifyMode``. For a
    client, ``optional`` is ``required``: the server always sends a certificate."""
    if cert_reqs is None:
        return ssl.CERT_NONE
    if isinstance(cert_reqs, str):
        mode = _CERT_REQS.get(cert_reqs.lower())
        if mode is None:
            raise DataError(
                f"ssl_cert_reqs must be 'none', 'optional' or 'required', got {cert_reqs!r}"
            )
        return mode
    if isinstance(cert_reqs, int):  # ssl.VerifyMode is an int; so is False, as redis-py allows
        try:
            return ssl.VerifyMode(int(cert_reqs))
        except ValueError:
            pass
    raise DataError(
        f"ssl_cert_reqs must be 'none', 'optional', 'required' or an ssl.VerifyMode, "
        f"got {cert_reqs!r}"
    )


def _path(name: str, value: Path | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise DataError(f"{name} must be a path, got {value!r}")
    return os.fspath(value)


def _ca_data(data: str | bytes | None) -> bytes | None:
    """PEM text (str) or DER certificates (bytes), as Python's ``cadata``;
    PEM in bytes is taken too."""
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode("ascii", "strict")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise DataError(f"ssl_ca_data must be PEM text or DER bytes, got {type(data).__name__}")


def _password(password: Password | None) -> bytes | None:
    """``ssl_password`` as Python's ``load_cert_chain`` takes it: text, bytes, or a
    callable returning either (called once, now)."""
    if password is None:
        return None
    value = password() if callable(password) else password
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise DataError(f"ssl_password must be str or bytes (or return one), got {value!r}")


def _min_version(version: TlsVersionLike | None) -> int:
    if version is None:
        return 12
    try:
        if isinstance(version, str):
            # From a URL: a number (redis-py's form), or a name: "TLSv1_3", "TLSv1.3".
            name = version.strip().replace(".", "_")
            version = int(name) if name.lstrip("-").isdigit() else ssl.TLSVersion[name]
        return _MIN_VERSIONS[ssl.TLSVersion(version)]
    except (KeyError, ValueError):
        raise DataError(f"ssl_min_version must be an ssl.TLSVersion, got {version!r}") from None


def _ciphers(ciphers: str | None) -> str | None:
    if ciphers is None or ciphers == "":  # redis-py leaves the default for an empty string
        return None
    if not isinstance(ciphers, str):
        raise DataError(f"ssl_ciphers must be a str, got {ciphers!r}")
    return ciphers
