"""vaultswitch: keep card data in an external vault (VGS first) and still run payments."""

__version__ = "0.1.0"
