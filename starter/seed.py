"""The demo's outside world (`python -m starter.seed RUN_ID`): coverage and free numbers, network
lines, and one subscriber account to terminate (adapters.seed), on the configured database
(TELECOM_DATABASE_URL), its schema created or upgraded first. Each run adds only what is missing."""

from __future__ import annotations

import sys

from activities.database import make_engine, upgrade
from adapters.seed import seed_demo
from edge.settings import SettingsError, load


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        raise SystemExit("usage: python -m starter.seed RUN_ID (digits)")
    settings = load("seed")
    try:
        keys = settings.id_hash_keys()
    except SettingsError as error:
        raise SystemExit(error.for_program("seed")) from None
    engine = make_engine(settings.database_url.get_secret_value())
    upgrade(engine)
    seed_demo(engine, sys.argv[1], keys)
    engine.dispose()


if __name__ == "__main__":
    main()
