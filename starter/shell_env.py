"""The file a second shell sources to reach a running system (`source .run/env`, written by
scripts/run): the venv on PATH, and for the `temporal` CLI and `telecom` alike the server's address
and namespace, the codec server and its token, and the payload key file. It holds the token, so it
is written readable by its owner only.

    python -m starter.shell_env FILE --address HOST:PORT --codec-endpoint URL

The token, the key file, the records database and the archive's staff are this program's settings
TELECOM_CODEC_TOKEN, TELECOM_CODEC_KEY_FILE, TELECOM_DATABASE_URL and TELECOM_ARCHIVE_STAFF (not
arguments: `ps` would show the token)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from edge.settings import load


def shell_env(*, venv_bin: Path, address: str, namespace: str, codec_endpoint: str, codec_token: str,
              key_file: Path, database_url: str, archive_staff: Mapping[str, str] | None) -> str:
    """The file's text, for bash."""
    q = shlex.quote
    return "\n".join([
        "# Written by scripts/run. In another shell: source .run/env (README: Driving a case from the shell).",
        # Connection settings of another server (an API key, TLS, a profile) must not reach this one,
        # and a key ring in the variable as well as in the file is refused: set here, only here.
        "for variable in $(compgen -e | grep '^TEMPORAL_'); do unset \"$variable\"; done",
        "unset TELECOM_CODEC_KEYS",
        f"export PATH={q(str(venv_bin))}:\"$PATH\"",
        f"export TEMPORAL_ADDRESS={q(address)} TEMPORAL_NAMESPACE={q(namespace)}",
        f"export TEMPORAL_CODEC_ENDPOINT={q(codec_endpoint)} TEMPORAL_CODEC_AUTH={q('Bearer ' + codec_token)}",
        f"export TELECOM_CODEC_KEY_FILE={q(str(key_file))}",
        # `telecom report` and `telecom archive` read the records the worker writes.
        f"export TELECOM_DATABASE_URL={q(database_url)}",
        *([f"export TELECOM_ARCHIVE_STAFF={q(','.join(f'{s}:{r}' for s, r in archive_staff.items()))}"]
          if archive_staff else []),
        "",
    ])


def write(path: Path, text: str) -> None:
    """Mode 600 from the start: the text holds the codec token."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m starter.shell_env", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--address", required=True, help="the Temporal server, host:port")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--codec-endpoint", required=True, help="the codec server's URL")
    args = parser.parse_args()
    settings = load("python -m starter.shell_env")
    if settings.codec_token is None or settings.codec_key_file is None:
        sys.exit("python -m starter.shell_env: set TELECOM_CODEC_TOKEN and TELECOM_CODEC_KEY_FILE")
    write(args.file, shell_env(venv_bin=Path(sys.executable).parent, address=args.address, namespace=args.namespace,
                               codec_endpoint=args.codec_endpoint, codec_token=settings.codec_token.get_secret_value(),
                               key_file=settings.codec_key_file.resolve(),
                               database_url=settings.database_url.get_secret_value(),
                               archive_staff=settings.archive_staff))


if __name__ == "__main__":
    main()
