"""The .env file: written from .env.example with every CHANGE_ME replaced by a generated secret
(`lakehouse env init`, `make env`)."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

PLACEHOLDER = "CHANGE_ME"
_ALPHABET = string.ascii_letters + string.digits


def generate_secret() -> str:
    """20 chars with at least one upper case letter and one digit (Kestra's rules)."""
    return "Aa1" + "".join(secrets.choice(_ALPHABET) for _ in range(17))


def fill_secrets(example: str) -> str:
    """The example's text, each line holding the placeholder given a secret of its own."""
    lines = []
    for line in example.splitlines():
        if PLACEHOLDER in line:
            line = line.replace(PLACEHOLDER, generate_secret())
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_env_file(target: Path, example: Path, force: bool = False) -> bool:
    """Write ``target`` from ``example`` (owner-only: it holds secrets); False if it exists and
    ``force`` is not set (kept as it is)."""
    if target.exists() and not force:
        return False
    target.write_text(fill_secrets(example.read_text()))
    target.chmod(0o600)
    return True
