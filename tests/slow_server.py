"""Test servers for what the emulated API servers do not do: a TLS API server whose answers trickle in (headers at
once, then the body one byte at a time), and server certificates that fail verification in a given way (expired,
naming another host) while signed by the CA the function trusts."""
from __future__ import annotations

import datetime
import socket
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from rehearsal.kubernetes.apiserver import EKS_DOMAIN, EKS_REGIONS, TestCA


class TricklingServer:
    """Answers every request `200 OK` with a JSON body of `length` bytes sent one byte every `interval` seconds
    (each read gets a byte long before any read timeout: only a whole-request deadline stops the client)."""

    def __init__(self, ca: TestCA, interval: float = 1.0, length: int = 200) -> None:
        self.interval, self.length = interval, length
        self.context = ca.server_context()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                self.requests += 1
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            b"Content-Length: %d\r\n\r\n" % self.length)
                body = b"{" + b" " * (self.length - 2) + b"}"
                for i in range(self.length):
                    if self.closed.wait(self.interval):
                        return
                    tls.sendall(body[i:i + 1])
        except (OSError, ssl.SSLError):
            return  # the client gave up and closed the connection

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


def _load(ca: TestCA):
    directory = ca.cert_file.parent
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), password=None)
    return x509.load_pem_x509_certificate(ca.ca_pem), key


def server_certificate(ca: TestCA, directory: Path, *, expired: bool = False, hostname: str | None = None) -> TestCA:
    """A server certificate signed by `ca` (so CaData is right) that fails verification otherwise: `expired`, or
    naming only `hostname` (a hostname mismatch for the emulated EKS endpoints)."""
    ca_cert, ca_key = _load(ca)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    start, end = (now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)) if expired else \
        (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1))
    names = [x509.DNSName(hostname)] if hostname else [
        x509.DNSName(f"*.gr7.{region}{EKS_DOMAIN}") for region in EKS_REGIONS]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return TestCA(ca.ca_pem, cert_file, key_file)
