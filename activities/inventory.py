"""The pre-review activity (guide 2.3 初步审核) over the inventory adapter (adapters.inventory)."""

from __future__ import annotations

from temporalio import activity

from adapters.inventory import CustomerInventory
from edge.id_hash import HashKeyRing, hashes, protect
from models.application import PreReviewRequest, PreReviewResult


class InventoryChecks:
    """Activities over the inventory adapter (swap it in tests or for the operator's real one)."""

    def __init__(self, inventory: CustomerInventory, keys: HashKeyRing) -> None:
        self.inventory = inventory
        self.keys = keys

    @activity.defn
    def pre_review(self, request: PreReviewRequest) -> PreReviewResult:
        """Automated pre-review (guide 2.3 初步审核): coverage, the person's active lines, the risk list.
        Hashing happens here, not in the workflow: its key is the worker's secret. The person is
        looked up under every key of the ring; the result carries the current key's hash."""
        applicant = hashes(request.applicant, self.keys)
        risk = self.inventory.risk_flag(applicant)
        if risk is None and request.proxy is not None and (
                proxy_risk := self.inventory.risk_flag(hashes(request.proxy, self.keys))):
            risk = f"proxy: {proxy_risk}"
        return PreReviewResult(
            applicant=protect(request.applicant, self.keys),
            proxy=protect(request.proxy, self.keys) if request.proxy is not None else None,
            service_available=self.inventory.service_available(request.service_type, request.region),
            active_lines=self.inventory.active_lines(applicant, request.counted_services),
            risk_flag=risk)
