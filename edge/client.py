"""The one way every process connects to Temporal: the connection from temporalio.envconfig
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles, TLS, API key; localhost:7233 by default) and the
contract's data converter, encrypted with the configured key ring."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

from temporalio.envconfig import ClientConfig

from .settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.runtime import Runtime


def connect_config(profile: str | None = None) -> dict[str, Any]:
    """Client.connect's arguments from the environment and profiles (temporalio.envconfig)."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config(profile))
    config.setdefault("target_host", "localhost:7233")
    return config


async def connect(settings: Settings, *, profile: str | None = None, runtime: Runtime | None = None) -> Client:
    """A client with the settings' key ring; `runtime` (the worker's, serving metrics) if given."""
    from temporalio.client import Client  # here: `query` does without its import (a third of `telecom … status`)

    return await Client.connect(**connect_config(profile), data_converter=settings.data_converter(),
                                runtime=runtime)


async def connect_plain(profile: str | None = None) -> Client:
    """A client for the server's own settings (e.g. its search attributes): it sends no case payloads,
    so it needs no key ring."""
    from temporalio.client import Client

    return await Client.connect(**connect_config(profile))


async def query(settings: Settings, workflow_id: str, name: str, *, profile: str | None = None) -> Any:
    """A query without arguments, its answer untyped (JSON as the worker sent it), in one RPC on the
    service client: what `Client`'s query does, without importing it. A failed query raises RPCError
    INVALID_ARGUMENT with the workflow's message (`Client` makes it a WorkflowQueryFailedError)."""
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.query.v1 import WorkflowQuery
    from temporalio.api.workflowservice.v1 import QueryWorkflowRequest
    from temporalio.service import ConnectConfig, ServiceClient

    config = connect_config(profile)
    namespace = config.pop("namespace", "default")
    service = await ServiceClient.connect(ConnectConfig(**config, identity=f"{os.getpid()}@{socket.gethostname()}"))
    answer = await service.workflow_service.query_workflow(QueryWorkflowRequest(
        namespace=namespace, execution=WorkflowExecution(workflow_id=workflow_id),
        query=WorkflowQuery(query_type=name)), retry=True)
    values = await settings.data_converter().decode(answer.query_result.payloads)
    return values[0] if values else None
