"""Fixtures of the proxy server tests (defined in proxy_support.py): ``vault`` (a real SQLite
vault core with a vault and access credentials), ``pg_vault`` (the same on PostgreSQL),
``upstream`` / ``plain_upstream`` (loopback upstreams that record what they receive)."""

from proxy_support import pg_vault, plain_upstream, upstream, vault

__all__ = ["pg_vault", "plain_upstream", "upstream", "vault"]
