"""Delivery of outbox messages (spec §1.5): an adapter behind a small interface."""

from __future__ import annotations

import logging
from typing import Protocol

from .tables import CustomerContact, Notification

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, message: Notification, contact: CustomerContact | None) -> None:
        """Deliver one message; raise to have the activity retry it. Must tolerate a repeat
        (at-least-once): the outbox row's (workflow_id, key) is the message's idempotency key."""


class RecordingNotifier:
    """The default adapter: no SMS gateway, the outbox row marked sent is the record."""

    def send(self, message: Notification, contact: CustomerContact | None) -> None:
        log.info("notification %s/%s %s via %s", message.workflow_id, message.key, message.template, message.channel)
