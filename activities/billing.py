"""Termination's billing activities over the billing adapter (adapters.billing): payments, the
final bill, the refund, and returned or charged equipment."""

from __future__ import annotations

from temporalio import activity

from adapters.billing import BillingSystem
from models.termination import (
    Balance,
    EquipmentCharge,
    EquipmentList,
    EquipmentReturn,
    FinalBill,
    PaymentRecord,
    Refund,
    RefundRequest,
    Settlement,
)


class Billing:
    """Activities over the billing adapter (swap it in tests or for the operator's billing system)."""

    def __init__(self, billing: BillingSystem) -> None:
        self.billing = billing

    @activity.defn
    def record_payment(self, payment: PaymentRecord) -> Balance:
        return Balance(balance_fen=self.billing.record_payment(payment))

    @activity.defn
    def settle(self, settlement: Settlement) -> FinalBill:
        return self.billing.settle(settlement)

    @activity.defn
    def refund(self, request: RefundRequest) -> Refund:
        return self.billing.refund(request)

    @activity.defn
    def return_equipment(self, request: EquipmentReturn) -> EquipmentList:
        return EquipmentList(items=self.billing.return_equipment(request))

    @activity.defn
    def charge_equipment(self, request: EquipmentCharge) -> EquipmentList:
        return EquipmentList(items=self.billing.charge_equipment(request))
