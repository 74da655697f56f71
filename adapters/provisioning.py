"""The provisioning system (OSS, guide ch. 3), an outside system: its interface, and the default
adapter that keeps its orders in our database and takes numbers from the inventory's pool
(adapters.inventory). The activities over it are activities.provisioning.

An order may complete at once or later: the OSS then reports the completion to the case with the
`provisioning_completed` signal, and the case records it through `record_activation`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel
from temporalio.exceptions import ApplicationError

from edge.id_hash import tagged
from edge.sql import UTCDateTime
from models.application import Activation, OrderReceipt, OrderRequest, OrderState
from models.identity import HASH_MAX_LENGTH

from .inventory import NUMBERED_SERVICES, CustomerInventory, CustomerLine, LineStatus

NO_FREE_NUMBER = "NoFreeNumber"
UNKNOWN_ORDER = "UnknownOrder"


class ProvisioningOrder(SQLModel, table=True):
    """An order as the default OSS adapter keeps it."""

    order_id: str = Field(primary_key=True, max_length=80)
    workflow_id: str = Field(index=True, max_length=100)
    service_type: str = Field(max_length=20)
    region: str = Field(max_length=10)
    requested_start_date: date
    holder_hash: str = Field(max_length=HASH_MAX_LENGTH)
    customer_ref: str = Field(max_length=64)
    line_id: str = Field(max_length=80)
    status: str = Field(index=True, max_length=20)
    submitted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProvisioningSystem(Protocol):
    def submit(self, order: OrderRequest) -> OrderReceipt:
        """Take the order; a repeat of the same order id returns the first receipt."""

    def confirm(self, activation: Activation) -> OrderReceipt:
        """Record the completion the OSS reported; a repeat keeps the first activation time."""


class DatabaseOss:
    """The default adapter: orders in our database, numbers from the inventory's pool. With
    `complete_immediately` (the default) an order is activated at the moment it is submitted;
    without it the order waits for the OSS's report (tests, or a real OSS in front of this one)."""

    def __init__(self, engine: sa.Engine, inventory: CustomerInventory, complete_immediately: bool = True) -> None:
        self.engine = engine
        self.inventory = inventory
        self.complete_immediately = complete_immediately

    def submit(self, order: OrderRequest) -> OrderReceipt:
        with Session(self.engine) as session:
            known = session.get(ProvisioningOrder, order.order_id) is not None
        if not known:
            line_id = self._line_for(order)
            try:
                with Session(self.engine) as session, session.begin():
                    session.add(ProvisioningOrder(
                        order_id=order.order_id, workflow_id=order.workflow_id, service_type=order.service_type,
                        region=order.region, requested_start_date=order.requested_start_date,
                        holder_hash=tagged(order.holder_hash), customer_ref=order.customer_ref, line_id=line_id,
                        status=OrderState.accepted, submitted_at=order.submitted_at))
            except IntegrityError:
                pass  # a concurrent attempt of the same submission inserted it
        if self.complete_immediately:  # also finishes what an interrupted attempt left accepted
            return self.confirm(Activation(order_id=order.order_id, activated_at=order.submitted_at))
        with Session(self.engine) as session:
            return _receipt(session.get_one(ProvisioningOrder, order.order_id))

    def confirm(self, activation: Activation) -> OrderReceipt:
        with Session(self.engine) as session:
            order = session.get(ProvisioningOrder, activation.order_id)
            if order is None:
                raise ApplicationError(f"no provisioning order {activation.order_id}", type=UNKNOWN_ORDER,
                                       non_retryable=True)
            if order.status == OrderState.completed:
                return _receipt(order)
            # Line first, order second: each step is idempotent, so a retry after a crash finishes both.
            self.inventory.activate_line(CustomerLine(
                order_id=order.order_id, holder_hash=order.holder_hash, customer_ref=order.customer_ref,
                service_type=order.service_type, line_id=order.line_id, status=LineStatus.active,
                activated_at=activation.activated_at))
            order.status, order.activated_at = OrderState.completed, activation.activated_at
            session.add(order)
            session.commit()
            session.refresh(order)
            return _receipt(order)

    def _line_for(self, order: OrderRequest) -> str:
        if order.service_type not in NUMBERED_SERVICES:
            return f"ACC-{order.order_id}"
        number = self.inventory.reserve_number(order.service_type, order.order_id, order.submitted_at)
        if number is None:
            raise ApplicationError(f"no free {order.service_type} number in the pool", type=NO_FREE_NUMBER,
                                   non_retryable=True)
        return number


def _receipt(order: ProvisioningOrder) -> OrderReceipt:
    return OrderReceipt(order_id=order.order_id, state=OrderState(order.status), activated_at=order.activated_at)
