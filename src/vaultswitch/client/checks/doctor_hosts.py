"""``doctor``'s network checks: DNS, TCP and TLS to the auth host and to the vault host, and
the outbound proxy of the account's metadata. The sockets are in :mod:`.network`; each
probe is a :class:`~.steps.Blocking` operation (a worker thread under the async driver)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from vaultswitch.client.retry import FailureKind

from . import network
from .connection import _api_version, _template_url, target_for
from .diagnosis import VAULT_ID, Target, _network_hint
from .doctor_options import DoctorOptions
from .report import Outcome
from .steps import Blocking, CheckContext, CheckStep, StepRun


@dataclass(frozen=True, slots=True)
class _Host:
    endpoint: network.Endpoint
    setting: str
    target: Target

    @property
    def where(self) -> str:
        return f"{self.endpoint.address} (the connector's {self.setting})"


def _host(ctx: CheckContext, stage: str) -> _Host | Outcome:
    """The host a stage talks to, or a passing Outcome saying why there is none."""
    connector, credentials = ctx.connector, ctx.credentials
    connector.check_credentials(credentials)  # a malformed vault ID fails here, named
    if stage == "auth":
        if not connector.requires_access_token(credentials):
            return Outcome.passed(
                "no auth host: Vault API v1 takes the vault's access credentials on every "
                "request, with no token endpoint"
                if _api_version(connector) == "v1"
                else "no auth host: the connector fetches no access token"
            )
        setting = "auth_base_url"
    else:
        setting = "vault_base_url" if _api_version(connector) == "v2" else "v1_base_url"
    url = _template_url(connector, credentials, setting)
    endpoint = network.endpoint_of(url) if url else None
    if endpoint is None:
        return Outcome.passed(f"not checked: the {connector.name} connector names no {setting}")
    target = target_for(connector, credentials, "token" if stage == "auth" else "vault", url)
    return _Host(endpoint, setting, target)


def _vault_id_trap(host: _Host) -> str:
    if host.target.stage != "vault" or not host.target.host_has_vault_id:
        return ""
    return (
        f" The vault host is built from the {VAULT_ID}: a mistyped vault ID, or one of the "
        "other environment (sandbox vault IDs do not work in live and vice versa), gives a "
        "host that does not exist."
    )


def dns_step(stage: str, options: DoctorOptions) -> CheckStep:
    def run(ctx: CheckContext) -> StepRun:
        host = _host(ctx, stage)
        if isinstance(host, Outcome):
            return host
        name, port = host.endpoint.host, host.endpoint.port
        if host.endpoint.is_ip:
            ctx.facts[f"{stage}_addresses"] = (name,)
            return Outcome.passed(f"{name} is an IP address: nothing to resolve")
        try:
            addresses = yield Blocking(partial(network.resolve, name, port, options.resolver))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            hint = (
                f"Check the host name in the connector's {host.setting} (a typo, or a name "
                "only another network knows) and that this machine can resolve names: its "
                "DNS server, /etc/hosts, a VPN that must be on."
            )
            if host.target.own_vault:
                hint += " For a vaultswitch vault use the address `vaultswitch up` printed."
            return Outcome.failed(
                code="dns_failed",
                message=f"{name} does not resolve ({reason})",
                hint=hint + _vault_id_trap(host),
            )
        ctx.facts[f"{stage}_addresses"] = tuple(addresses)
        shown = ", ".join(addresses[:4]) + (" ..." if len(addresses) > 4 else "")
        return Outcome.passed(f"{name} resolves to {shown}")

    return CheckStep(f"{stage}_dns", run)


def tcp_step(stage: str, options: DoctorOptions) -> CheckStep:
    def run(ctx: CheckContext) -> StepRun:
        host = _host(ctx, stage)
        if isinstance(host, Outcome):
            return host
        addresses = ctx.facts.get(f"{stage}_addresses") or (host.endpoint.host,)
        port = host.endpoint.port
        try:
            address = yield Blocking(partial(network.connect_any, addresses, port, options.timeout))
        except OSError as exc:
            timed_out = isinstance(exc, TimeoutError | socket.timeout)
            kind = FailureKind.CONNECT_TIMEOUT if timed_out else FailureKind.CONNECT
            return Outcome.failed(
                code="tcp_failed",
                message=f"no TCP connection to {host.where}: {network.tcp_failure(exc)}",
                hint=_network_hint(kind, host.target, ""),
            )
        ctx.facts[f"{stage}_address"] = address
        via = f" ({address})" if address != host.endpoint.host else ""
        return Outcome.passed(f"{host.endpoint.address}{via} accepts TCP connections")

    return CheckStep(f"{stage}_tcp", run, needs=(f"{stage}_dns",))


def _tls_hint(host: _Host, exc: Exception) -> str:
    reason = network.tls_failure(exc)
    if reason.startswith("no TLS"):
        return (
            f"{host.endpoint.address} does not speak TLS: if the server is plain HTTP use an "
            f"http:// URL in the connector's {host.setting}, otherwise its TLS port."
        )
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError):
        return _network_hint(FailureKind.CONNECT, host.target, "")
    return (
        f"The TLS certificate of {host.endpoint.host} is not accepted here. If it is signed by "
        "a private CA (a vaultswitch vault over HTTPS, a corporate CA), trust that CA: "
        "`vaultswitch doctor --ca-file FILE` for this test, ClientConfig.verify in code, "
        "SSL_CERT_FILE for every program. If the name does not match, fix the host in the "
        f"connector's {host.setting}; an expired certificate must be renewed on the server."
        + _vault_id_trap(host)
    )


def tls_step(stage: str, options: DoctorOptions) -> CheckStep:
    def run(ctx: CheckContext) -> StepRun:
        host = _host(ctx, stage)
        if isinstance(host, Outcome):
            return host
        if not host.endpoint.tls:
            return Outcome.passed("not TLS (http URL)")
        verify = options.verify if options.verify is not None else True
        trust_env = options.trust_env if options.trust_env is not None else True
        address = ctx.facts.get(f"{stage}_address") or host.endpoint.host
        endpoint = host.endpoint
        try:
            context = network.ssl_context(verify, trust_env)
            session = yield Blocking(
                partial(
                    network.tls_handshake,
                    address,
                    endpoint.port,
                    endpoint.host,
                    context,
                    options.timeout,
                )
            )
        except (OSError, ValueError) as exc:
            return Outcome.failed(
                code="tls_failed",
                message=f"TLS to {host.where} failed: {network.tls_failure(exc)}",
                hint=_tls_hint(host, exc),
            )
        return _tls_passed(endpoint, session)

    return CheckStep(f"{stage}_tls", run, needs=(f"{stage}_tcp",))


def _tls_passed(endpoint: network.Endpoint, session: network.TlsSession) -> Outcome:
    if not session.verified:
        return Outcome(
            True,
            "ok",
            f"{session.version} with {endpoint.address}; its certificate was NOT verified "
            "(verification is off)",
            "Turn certificate verification back on (ClientConfig.verify=True or a CA bundle "
            "path) outside tests.",
        )
    names = f" for {session.subject}" if session.subject else ""
    if session.not_after is None:
        return Outcome.passed(f"{session.version} with {endpoint.address}, certificate{names}")
    left = (session.not_after.timestamp() - time.time()) / 86400
    message = (
        f"{session.version} with {endpoint.address}, certificate{names} trusted, valid until "
        f"{session.not_after:%Y-%m-%d} ({left:.0f} days left)"
    )
    if left < 14:
        return Outcome(
            True,
            "ok",
            message + ". Warning: it expires soon.",
            f"Renew the certificate of {endpoint.host} before it expires.",
        )
    return Outcome.passed(message)


def proxy_check(options: DoctorOptions) -> Callable[[CheckContext], StepRun]:
    """The outbound proxy of ``metadata.proxy_url``: its host resolves and accepts TCP
    connections, and ``metadata.certificate`` parses as an X.509 CA certificate. CONNECT
    through the proxy and its credentials are checked once vaultswitch has its own outbound
    proxy to test them against."""

    def run(ctx: CheckContext) -> StepRun:
        endpoint = network.endpoint_of(options.proxy_url or "")
        if endpoint is None:
            return Outcome.failed(
                code="proxy_unreachable",
                message="metadata.proxy_url is not an http:// or https:// URL with a host",
                hint="Set the connector account's metadata.proxy_url to the outbound proxy's "
                "URL, e.g. https://USERNAME:PASSWORD@tntabc12345.sandbox.verygoodproxy.com:8443 "
                "(PUT /v2/connector-accounts/{id}).",
            )
        where = f"the outbound proxy {endpoint.address} (metadata.proxy_url)"
        try:
            addresses = yield Blocking(
                partial(network.resolve, endpoint.host, endpoint.port, options.resolver)
            )
        except OSError as exc:
            return Outcome.failed(
                code="proxy_unreachable",
                message=f"{where}: {endpoint.host} does not resolve "
                f"({exc.strerror or type(exc).__name__})",
                hint="Check the host in metadata.proxy_url (VGS shows the outbound proxy URL of "
                "each vault; it differs between sandbox and live) and this machine's DNS.",
            )
        try:
            yield Blocking(partial(network.connect_any, addresses, endpoint.port, options.timeout))
        except OSError as exc:
            return Outcome.failed(
                code="proxy_unreachable",
                message=f"no TCP connection to {where}: {network.tcp_failure(exc)}",
                hint="Check the port in metadata.proxy_url (VGS's outbound proxy listens on "
                "8443) and that a firewall lets this machine reach it.",
            )
        message = f"{where} accepts TCP connections"
        if options.proxy_certificate is None:
            return Outcome.passed(message + "; no certificate in the account to check")
        return _certificate_outcome(message, options.proxy_certificate)

    return run


def _certificate_outcome(message: str, text: str) -> Outcome:
    try:
        cert = network.load_certificate(text)
    except ValueError:
        return Outcome.failed(
            code="proxy_certificate_invalid",
            message=f"{message}, but metadata.certificate is not an X.509 certificate (neither "
            "PEM nor base64 of PEM or DER)",
            hint="Put the outbound proxy's CA certificate in metadata.certificate as downloaded "
            "(PEM, -----BEGIN CERTIFICATE-----), or its base64.",
        )
    until = f"{cert.not_after:%Y-%m-%d}"
    if cert.not_after.timestamp() < time.time():
        return Outcome.failed(
            code="proxy_certificate_invalid",
            message=f"{message}, but the certificate {cert.subject!r} expired on {until}",
            hint="Download the outbound proxy's current CA certificate and update "
            "metadata.certificate (PUT /v2/connector-accounts/{id}).",
        )
    if not cert.is_ca:
        return Outcome.failed(
            code="proxy_certificate_invalid",
            message=f"{message}, but the certificate {cert.subject!r} is not a CA certificate",
            hint="metadata.certificate must be the CA that signs the proxy's intercepted "
            "connections (VGS: the outbound proxy certificate of the vault), not a server "
            "certificate.",
        )
    return Outcome.passed(f"{message}; certificate {cert.subject!r} parses, valid until {until}")
