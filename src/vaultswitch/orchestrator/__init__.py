"""The Hyperswitch side of vaultswitch: merchants, API keys, profiles, customers, connector
accounts (vault activation with a connection test), served by :func:`create_app`.

It reaches every vault, ours included, only through :mod:`vaultswitch.client` and a
connector over HTTP; it never imports :mod:`vaultswitch.vault`.
"""
