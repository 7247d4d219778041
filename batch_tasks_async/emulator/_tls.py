"""``--tls``: a certificate authority and a server certificate made at start with ``trustme``.

The CA's PEM bundle is written to a file clients can trust (``SSL_CERT_FILE``, azure-core's
``connection_verify``, httpx's ``verify=``); the server's private key never touches the disk:
it is loaded straight into the server's ``ssl.SSLContext``.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from pathlib import Path

import trustme

__all__ = ["TLSMaterial", "certificate_names", "client_ssl_context"]

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def certificate_names(host: str) -> list[str]:
    """The names the server certificate is valid for: the loopback names and ``host``."""
    names = ["localhost", "127.0.0.1", "::1"]
    if host not in _WILDCARDS and host not in names:
        names.append(host)
    return names


class TLSMaterial:
    """A fresh CA, a server certificate it signed, and the CA bundle written to a file.

    Args:
        host: The interface the server listens on (added to the certificate's names).
        ca_path: Where to write the CA bundle; ``None``: ``ca.pem`` in a new temporary
            directory that `cleanup` removes.
    """

    def __init__(self, host: str, ca_path: str | os.PathLike[str] | None = None) -> None:
        self._ca = trustme.CA(organization_name="batch-tasks-async emulator")
        names = certificate_names(host)
        self._cert = self._ca.issue_cert(*names)
        self._own_dir: Path | None = None
        if ca_path is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="batch-emulator-tls-"))
            path = self._own_dir / "ca.pem"
        else:
            path = Path(ca_path)
            path.parent.mkdir(parents=True, exist_ok=True)
        self._ca.cert_pem.write_to_path(str(path))
        #: The PEM file holding the CA certificate clients must trust.
        self.ca_path = path.resolve()
        #: The names the server certificate holds.
        self.names = tuple(names)

    def __repr__(self) -> str:
        return f"TLSMaterial(ca_path={str(self.ca_path)!r})"

    def server_context(self) -> ssl.SSLContext:
        """An ``SSLContext`` for the server, holding the certificate and its key."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    def cleanup(self) -> None:
        """Remove the temporary directory of the CA bundle (a given ``ca_path`` is kept)."""
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None


def client_ssl_context(ca_path: str | os.PathLike[str]) -> ssl.SSLContext:
    """A client ``SSLContext`` that trusts the emulator's CA bundle (for httpx ``verify=``)."""
    return ssl.create_default_context(cafile=os.fspath(ca_path))
