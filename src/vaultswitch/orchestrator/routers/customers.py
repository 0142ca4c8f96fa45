"""Customers (merchant API key): create, retrieve by id or by ``merchant_reference_id``,
list. Ids are generated (``{cell}_cus_{32 hex}``); the merchant's own id goes in
``merchant_reference_id`` and is unique per merchant (a reused one is 400 ``IR_12``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Connection

from vaultswitch.orchestrator.auth import Merchant
from vaultswitch.orchestrator.context import Ctx
from vaultswitch.orchestrator.errors import not_found
from vaultswitch.orchestrator.repos import customers as repo
from vaultswitch.orchestrator.repos.customers import Customer

from .common import Limit, Offset, iso

router = APIRouter(tags=["customers"])

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_PHONE = re.compile(r"[0-9 ()+-]{3,32}")
_COUNTRY_CODE = re.compile(r"\+?[0-9]{1,4}")


class CustomerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merchant_reference_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    email: str = Field(min_length=3, max_length=255)
    phone: str | None = Field(default=None, max_length=32)
    phone_country_code: str | None = Field(default=None, max_length=8)
    description: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.fullmatch(value.strip()):
            raise ValueError("must be an email address (name@domain)")
        return value.strip()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.fullmatch(value.strip()):
            raise ValueError("must be digits, spaces, +, -, ( or ), 3 to 32 characters")
        return value

    @field_validator("phone_country_code")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is not None and not _COUNTRY_CODE.fullmatch(value.strip()):
            raise ValueError("must be a country calling code such as +1 or +44")
        return value


class CustomerResponse(BaseModel):
    id: str
    merchant_reference_id: str | None
    connector_customer_ids: dict[str, str] | None = None
    name: str | None
    email: str | None
    phone: str | None
    phone_country_code: str | None
    description: str | None
    default_billing_address: dict[str, Any] | None = None
    default_shipping_address: dict[str, Any] | None = None
    created_at: str | None
    metadata: dict[str, Any] | None
    default_payment_method_id: str | None = None
    tax_registration_id: str | None = None


def customer_response(customer: Customer) -> CustomerResponse:
    return CustomerResponse(
        id=customer.id,
        merchant_reference_id=customer.merchant_reference_id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        phone_country_code=customer.phone_country_code,
        description=customer.description,
        created_at=iso(customer.created_at),
        metadata=customer.metadata,
    )


@router.post("/v2/customers")
async def create_customer(body: CustomerRequest, ctx: Ctx, caller: Merchant) -> CustomerResponse:
    def create(conn: Connection) -> Customer:
        return repo.create(
            conn,
            ctx.keyring,
            caller.merchant_id,
            ctx.settings.cell_id,
            name=body.name,
            email=body.email,
            phone=body.phone,
            merchant_reference_id=body.merchant_reference_id,
            phone_country_code=body.phone_country_code,
            description=body.description,
            metadata=body.metadata,
        )

    return customer_response(await ctx.db.write(create))


@router.get("/v2/customers/list")
async def list_customers(
    ctx: Ctx, caller: Merchant, limit: Limit = 20, offset: Offset = 0
) -> list[CustomerResponse]:
    """Newest first; ``limit`` (1-100, default 20) and ``offset`` page through them."""
    found = await ctx.db.read(
        lambda conn: repo.list_for_merchant(
            conn, ctx.keyring, caller.merchant_id, limit=limit, offset=offset
        )
    )
    return [customer_response(customer) for customer in found]


@router.get("/v2/customers/reference/{merchant_reference_id}")
async def retrieve_customer_by_reference(
    merchant_reference_id: str, ctx: Ctx, caller: Merchant
) -> CustomerResponse:
    customer = await ctx.db.read(
        lambda conn: repo.get_by_reference(
            conn, ctx.keyring, caller.merchant_id, merchant_reference_id
        )
    )
    if customer is None:
        raise not_found("Customer")
    return customer_response(customer)


@router.get("/v2/customers/{customer_id}")
async def retrieve_customer(customer_id: str, ctx: Ctx, caller: Merchant) -> CustomerResponse:
    customer = await ctx.db.read(
        lambda conn: repo.get(conn, ctx.keyring, caller.merchant_id, customer_id)
    )
    if customer is None:
        raise not_found("Customer")
    return customer_response(customer)
