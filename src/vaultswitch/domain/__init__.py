"""Card data, secrets and the error taxonomy. Imports nothing else of vaultswitch."""
