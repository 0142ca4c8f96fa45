"""The vault's HTTP layer: the VGS wire protocol over the core (ASGI app, auth, server)."""
