"""`vaultswitch up`: the whole system on one machine, and `vaultswitch demo` against it."""
