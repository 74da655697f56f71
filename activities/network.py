"""The fault-repair activities over the network adapter (adapters.network): the remote line test
and the service's facts."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.network import Network
from models.fault import LineTestRequest, LineTestResult, ServiceInfo, ServiceLookup

UNKNOWN_SERVICE = "UnknownService"


class NetworkActivities:
    def __init__(self, network: Network) -> None:
        self.network = network

    @activity.defn
    def run_line_test(self, request: LineTestRequest) -> LineTestResult:
        return self.network.line_test(request.service_id)

    @activity.defn
    def look_up_service(self, request: ServiceLookup) -> ServiceInfo:
        found = self.network.service(request.service_id)
        if found is None:
            raise ApplicationError(f"service {request.service_id} is not known to the network: its rental "
                                   "cannot be looked up", type=UNKNOWN_SERVICE, non_retryable=True)
        return found
