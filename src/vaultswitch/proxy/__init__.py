"""The vault's proxies and what drives them: VGS route documents (``vaultswitch.proxy.routes``)
and the ``vaultswitch routes`` commands (``vaultswitch.proxy.cli``).

The proxies are the vault's own: they use the vault's core in-process (aliases, routes),
never its HTTP layer, never the orchestrator.
"""
