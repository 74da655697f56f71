"""The activities that submit provisioning orders and record their completion, over the
provisioning adapter (adapters.provisioning)."""

from __future__ import annotations

from temporalio import activity

from adapters.provisioning import ProvisioningSystem
from models.application import Activation, OrderReceipt, OrderRequest


class Provisioning:
    """Activities over the provisioning adapter (swap it in tests or for the operator's OSS)."""

    def __init__(self, oss: ProvisioningSystem) -> None:
        self.oss = oss

    @activity.defn
    def submit_order(self, order: OrderRequest) -> OrderReceipt:
        return self.oss.submit(order)

    @activity.defn
    def record_activation(self, activation: Activation) -> OrderReceipt:
        return self.oss.confirm(activation)
