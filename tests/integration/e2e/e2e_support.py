"""A real vault server on loopback, over plain HTTP or TLS with a test CA, for end-to-end tests."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from live_uvicorn import LiveServer
from vaultswitch.connectors.base import SignatureKey
from vaultswitch.domain.secret import Secret
from vaultswitch.vault.core.service import VaultService
from vaultswitch.vault.http.app import create_app
from vaultswitch.vault.settings import VaultSettings


@dataclass(frozen=True)
class TestCA:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path) -> TestCA:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vaultswitch test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TestCA(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class VaultAccount:
    """One vault on a live server, with OAuth and v1 credentials in SignatureKey form."""

    url: str
    vault_id: str
    oauth: SignatureKey
    basic: SignatureKey
    service: VaultService
    ca_file: Path | None

    def connector_urls(self) -> dict[str, str]:
        return {
            "vault_base_url": self.url + "/{vault_id}/",
            "auth_base_url": self.url + "/",
            "v1_base_url": self.url + "/",
        }


def open_account(service: VaultService, url: str, ca_file: Path | None) -> VaultAccount:
    info = service.create_vault("e2e")
    account, secret = service.create_service_account([info.vault_id])
    username, password = service.create_access_credentials(info.vault_id)
    vault_id = Secret(info.vault_id)
    return VaultAccount(
        url=url,
        vault_id=info.vault_id,
        oauth=SignatureKey(Secret(account.client_id), secret, vault_id),
        basic=SignatureKey(Secret(username), password, vault_id),
        service=service,
        ca_file=ca_file,
    )


@contextmanager
def serve_vault(settings: VaultSettings, tls_dir: Path | None = None) -> Iterator[VaultAccount]:
    """Open the service, serve it on loopback (TLS when tls_dir is given), yield one vault."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tls = make_tls_files(tls_dir) if tls_dir is not None else None
    service = VaultService.open(settings)
    files = {"certfile": tls.cert_file, "keyfile": tls.key_file} if tls else {}
    server = LiveServer(create_app(settings, service), **files).start()
    try:
        yield open_account(service, server.url, tls.ca_file if tls else None)
    finally:
        server.stop()
        service.close()
