"""The one way every process connects to Temporal: the connection from temporalio.envconfig
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, profiles, TLS, API key; localhost:7233 by default) and the
contract's data converter, encrypted with the configured key ring."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from .codec import data_converter
from .settings import Settings


async def connect(settings: Settings, *, profile: str | None = None, runtime: Runtime | None = None) -> Client:
    """A client with the settings' key ring; `runtime` (the worker's, serving metrics) if given."""
    config = ClientConfig.load_client_connect_config(profile)
    config.setdefault("target_host", "localhost:7233")
    return await Client.connect(**config, data_converter=data_converter(settings.payload_keys), runtime=runtime)
