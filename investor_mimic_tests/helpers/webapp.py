"""Real parts for the approval web and notification tests, all on loopback.

- :func:`running`: the FastAPI app under a real uvicorn server on 127.0.0.1, a port the
  OS picks.
- :class:`SmtpSink`: a real SMTP server (aiosmtpd) that offers STARTTLS with a
  self-signed certificate and requires AUTH LOGIN/PLAIN with one user, and keeps every
  message it accepted (parsed) with the AUTH exchanges it saw.
- :func:`self_signed`: a certificate for 127.0.0.1 (cryptography), which the email
  channel trusts through ``IM_SMTP_CA_FILE``.
- :func:`chromium`: the browser binary, or None.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1:<free port>; yields the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for CN/SAN 127.0.0.1, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.raw.append(envelope.content)
            self.sink.messages.append(message)  # type: ignore[arg-type]
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.sink.tls.append(session.ssl is not None)
        return "250 OK"


class _Port0Controller(Controller):
    """aiosmtpd's Controller on a port the OS picks (it connects to itself at start)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """A real SMTP server on 127.0.0.1 with STARTTLS and AUTH; use as a context manager."""

    def __init__(self, folder: Path, *, user: str, password: str) -> None:
        self.cert, key = self_signed(folder)
        self.user, self.password = user, password
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.tls: list[bool] = []
        self.logins: list[tuple[str, bool]] = []
        self.lock = threading.Lock()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(key))
        self._controller = _Port0Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=0,
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            auth_required=True,
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        )
        with self.lock:
            self.logins.append(
                (data.login.decode() if isinstance(data, LoginPassword) else "?", ok)
            )
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} email(s), got {len(self.messages)}")

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """(plain text, html) bodies of a multipart/alternative message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "expected a text and an HTML part"
    return text.get_content(), html.get_content()


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None
