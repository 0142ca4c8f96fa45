"""HTTP routers per resource: request/response models and handlers.

A new resource is one module here with an ``APIRouter`` named ``router`` and one line
in ``ROUTERS`` (the order ``create_app`` mounts them in).
"""

from fastapi import APIRouter

from . import (
    api_keys,
    card_import,
    connector_accounts,
    customers,
    health,
    merchants,
    payment_methods,
    payments,
    profiles,
    vault_migrations,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    merchants.router,
    api_keys.router,
    profiles.router,
    customers.router,
    connector_accounts.router,
    payments.router,
    card_import.router,
    payment_methods.router,
    vault_migrations.router,
)
