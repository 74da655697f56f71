"""The demo's outside world on the configured database (TELECOM_DATABASE_URL), its schema created
or upgraded first; each run adds only what is missing (adapters.seed).

    python -m starter.seed RUN_ID                 coverage, free numbers, network lines and the demo
                                                  run's subscriber account to terminate
    python -m starter.seed --subscriber FILE|-    the subscriber a TerminationCleanup input names
                                                  (account, lines, ID holder, a rented modem)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from activities.database import make_engine, upgrade
from adapters.seed import seed_demo, seed_for_termination
from edge.settings import SettingsError, load
from models.termination import TerminationInput


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m starter.seed", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("run_id", nargs="?", help="the demo run (digits)")
    which.add_argument("--subscriber", metavar="FILE|-", help="a TerminationCleanup input (JSON), or - for stdin")
    arguments = parser.parse_args()
    if arguments.run_id is not None and not arguments.run_id.isdigit():
        parser.error("RUN_ID must be digits")
    request = _termination_input(arguments.subscriber) if arguments.subscriber else None
    settings = load("seed")
    try:
        keys = settings.id_hash_keys()
    except SettingsError as error:
        raise SystemExit(error.for_program("seed")) from None
    engine = make_engine(settings.database_url.get_secret_value())
    upgrade(engine)
    if request is None:
        seed_demo(engine, arguments.run_id, keys)
    else:
        seed_for_termination(engine, request, keys)
        print(f"seed: account {request.account_id} of {request.customer.customer_ref} in service with "
              f"{len(request.services)} line(s) and modem ONT-{request.account_id}")
    engine.dispose()


def _termination_input(source: str) -> TerminationInput:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return TerminationInput.model_validate_json(text)
    except OSError as error:
        raise SystemExit(f"seed: cannot read {source}: {error.strerror}") from None
    except ValidationError as error:
        fields = ", ".join(".".join(map(str, e["loc"])) or "(input)" for e in error.errors())
        raise SystemExit(f"seed: {source} is not a TerminationCleanup input; wrong or missing: {fields}") from None


if __name__ == "__main__":
    main()
