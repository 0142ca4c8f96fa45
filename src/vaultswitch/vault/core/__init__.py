"""The vault's core: the service (split by concern), storage, keys and alias formats.

Never imports the HTTP layer (``vaultswitch.vault.http``); the HTTP layer, the admin
CLI and the proxies use the core in-process.
"""
