"""Fixtures of the proxy server tests (defined in proxy_support.py): ``vault`` (a real SQLite
vault core with a vault and access credentials), ``upstream`` / ``plain_upstream`` (loopback
upstreams that record what they receive)."""

from proxy_support import plain_upstream, upstream, vault

__all__ = ["plain_upstream", "upstream", "vault"]
