"""Upstream connections of the proxies over real sockets: a kept-alive connection the upstream
drops is retried once on a new one when the request can be sent again (and is a 502 when
its streamed body cannot), a silent upstream is a 504, and the local CA's minted
certificates (per host, signed by the CA, cached within a bound)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from cryptography import x509
from proxy_support import Vault, proxy_settings, start_proxy

from vaultswitch.proxy.ca import LocalCA


@dataclass
class DroppingUpstream:
    """Plain HTTP on 127.0.0.1: answers the first request of each connection (kept alive),
    then drops the connection when a second request arrives on it; ``/silent`` is never
    answered."""

    sock: socket.socket = field(default_factory=socket.socket)
    connections: int = 0
    requests: int = 0
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> DroppingUpstream:
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data, seen = b"", 0
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                self.requests += 1
                seen += 1
                if seen > 1 or head.startswith(b"GET /silent"):
                    threading.Event().wait(3) if b"/silent" in head else None
                    return  # dropped without an answer
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nfirst"
                )

    def stop(self) -> None:
        self.sock.close()


@pytest.fixture
def dropping() -> Iterator[DroppingUpstream]:
    upstream = DroppingUpstream().start()
    try:
        yield upstream
    finally:
        upstream.stop()


def test_a_dropped_kept_alive_connection_is_retried_once(
    vault: Vault, dropping: DroppingUpstream
) -> None:
    server = start_proxy("outbound", vault, proxy_settings(allow_private_destinations=True))
    try:
        with httpx.Client(proxy=vault.proxy_url(server)) as client:
            first = client.get(f"{dropping.url}/a")
            second = client.get(f"{dropping.url}/b")  # its kept-alive connection is dropped
            streamed = client.post(f"{dropping.url}/c", content=iter([b"a streamed ", b"body"]))
    finally:
        server.stop()
    assert (first.status_code, first.text) == (200, "first")
    assert (second.status_code, second.text) == (200, "first"), second.text  # sent again
    assert dropping.connections >= 2
    # a streamed body cannot be sent twice: the client is told
    assert streamed.status_code == 502
    assert streamed.json()["errors"][0]["code"] == "UPSTREAM_UNREACHABLE"


def test_an_upstream_that_does_not_answer_is_a_504(
    vault: Vault, dropping: DroppingUpstream
) -> None:
    settings = proxy_settings(allow_private_destinations=True, upstream_timeout=0.5)
    server = start_proxy("outbound", vault, settings)
    try:
        with httpx.Client(proxy=vault.proxy_url(server), timeout=20) as client:
            response = client.get(f"{dropping.url}/silent")
    finally:
        server.stop()
    assert response.status_code == 504
    error = response.json()["errors"][0]
    assert error["code"] == "UPSTREAM_TIMEOUT"
    assert "VAULTSWITCH_PROXY_UPSTREAM_TIMEOUT" in error["hint"]


def test_minted_certificates_are_per_host_signed_by_the_ca_and_cached_within_a_bound(
    vault: Vault,
) -> None:
    ca = LocalCA.open(vault.data_dir, cache_size=2)
    for host in ("api.example.com", "10.1.2.3"):
        leaf = x509.load_pem_x509_certificate(ca.mint(host))
        leaf.verify_directly_issued_by(ca.certificate)
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert [str(v) for v in names.get_values_for_type(x509.DNSName)] + [
            str(v) for v in names.get_values_for_type(x509.IPAddress)
        ] == [host]
        assert leaf.not_valid_after_utc <= ca.certificate.not_valid_after_utc
        assert leaf.not_valid_before_utc < dt.datetime.now(dt.UTC)
        ca_usage = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert not ca_usage.ca
    first = ca.server_context("a.example")
    assert ca.server_context("a.example") is first  # cached
    ca.server_context("b.example")
    ca.server_context("c.example")
    assert ca.cached_hosts() == ["b.example", "c.example"]  # least recently used dropped
    assert LocalCA.open(vault.data_dir).cert_pem == ca.cert_pem  # one CA per data dir
