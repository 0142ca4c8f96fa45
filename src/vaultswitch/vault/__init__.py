"""vaultswitch's own VGS-compatible vault: service layer, HTTP server and admin CLI."""
