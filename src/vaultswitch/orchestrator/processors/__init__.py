"""Processor connectors: sans-IO authorize/sync builders and parsers, one module per processor
(``sandbox`` built in), a registry, and an injectable send step (:mod:`.transport`)."""
