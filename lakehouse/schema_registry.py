"""The event contract in the Schema Registry: register, check and serialize the trip schema.

The schema lives in one file (``settings.event_schema_file``, contracts/raw_trip.avsc) and is
registered under ``<topic>-value`` (Confluent's TopicNameStrategy) with the compatibility level of
``settings.schema_compatibility`` (BACKWARD). Every driver talks to the registry through
confluent-kafka's ``SchemaRegistryClient``: Apicurio's Confluent-compatible API natively, Confluent's
own registry in the compose stack.

* ``register`` sets the subject's compatibility level and registers the file; the registry refuses
  an incompatible change (HTTP 409) and ``SchemaRejected`` carries its message. Registering the same
  schema again returns the same id (idempotent).
* ``check`` asks the registry whether a schema file is compatible with the subject, registering
  nothing (``make schema-check``).
* ``wire_format`` / ``avro_encoder``: the producers' value encoder in the Confluent wire format
  (magic byte 0, 4-byte schema id, Avro binary body), with the id the registry gives the
  registered schema (auto-registration off, as confluent-kafka's ``AvroSerializer`` would), so a
  producer can only publish with a schema the registry accepted.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lakehouse import contract
from lakehouse.settings import Settings

# confluent-kafka's registry client imports authlib's httpx integration, which warns on import
# ("The httpx module is deprecated"): a dependency's notice, not something a user can act on.
# authlib installs an "always" filter for its warnings when first imported: import it first so
# that this filter comes before it.
with contextlib.suppress(ImportError):  # only the registry client pulls authlib in
    import authlib.deprecate  # noqa: F401
warnings.filterwarnings("ignore", message="The httpx module is deprecated")

#: Seconds a registry request may take: a registry that stops answering fails the step instead
#: of hanging it.
REQUEST_TIMEOUT_S = 30


class SchemaError(RuntimeError):
    """A schema file is unreadable or not valid Avro."""


class SchemaRejected(RuntimeError):
    """The registry refused a schema (incompatible with the subject's versions)."""


@dataclass
class RegisterResult:
    subject: str
    schema_id: int
    version: int
    compatibility: str
    schema_file: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckResult:
    subject: str
    compatible: bool
    compatibility: str
    versions: list[int]
    schema_file: str
    messages: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def client(settings: Settings) -> Any:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": REQUEST_TIMEOUT_S})


def load_schema(path: Path) -> str:
    """The schema file's text as the registry gets it (compact, without the lakehouse's
    ``"lakehouse"`` field annotations), after checking it is a valid Avro record schema."""
    from fastavro.schema import SchemaParseException, parse_schema

    try:
        text = Path(path).read_text(encoding="utf-8")
        parsed = json.loads(text)
    except OSError as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc}") from exc
    except ValueError as exc:
        raise SchemaError(f"schema file {path} is not JSON: {exc}") from exc
    try:
        parse_schema(parsed)
    except (SchemaParseException, ValueError, KeyError, TypeError) as exc:
        raise SchemaError(f"schema file {path} is not a valid Avro schema: {exc}") from exc
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        raise SchemaError(f"schema file {path} must define an Avro record")
    # what is registered: the schema without the lakehouse's own field annotations
    return contract.registry_text(Path(path))


def _subject_versions(sr: Any, subject: str) -> list[int]:
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    try:
        return list(sr.get_versions(subject))
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:
            return []
        raise


def register(settings: Settings, schema_file: Path | None = None) -> RegisterResult:
    """Set the subject's compatibility level and register the schema file (idempotent)."""
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    path = Path(schema_file or settings.event_schema_file)
    text = load_schema(path)
    subject = settings.event_subject
    sr = client(settings)
    sr.set_compatibility(subject, settings.schema_compatibility)
    try:
        schema_id = sr.register_schema(subject, Schema(text, "AVRO"))
    except SchemaRegistryError as exc:
        if exc.http_status_code == 409:
            raise SchemaRejected(
                f"the registry at {settings.schema_registry_url} refused {path} for subject "
                f"{subject} ({settings.schema_compatibility}): {exc.error_message}"
            ) from exc
        raise
    registered = sr.lookup_schema(subject, Schema(text, "AVRO"))
    return RegisterResult(
        subject=subject,
        schema_id=schema_id,
        version=registered.version,
        compatibility=settings.schema_compatibility,
        schema_file=str(path),
    )


def check(settings: Settings, schema_file: Path) -> CheckResult:
    """Is ``schema_file`` compatible with the subject's registered versions? Registers nothing."""

    text = load_schema(schema_file)
    subject = settings.event_subject
    sr = client(settings)
    versions = _subject_versions(sr, subject)
    if not versions:
        return CheckResult(
            subject, True, settings.schema_compatibility, [], str(schema_file),
            ["subject has no versions yet: any valid schema is accepted"],
        )  # fmt: skip
    resp = sr._rest_client.post(  # the client's own REST session: auth, retries, timeout
        f"compatibility/subjects/{subject}/versions/latest?verbose=true",
        body={"schema": text, "schemaType": "AVRO"},
    )
    compatible = bool(resp.get("is_compatible"))
    messages = [str(m) for m in resp.get("messages") or []]
    return CheckResult(
        subject, compatible, sr.get_compatibility(subject), versions, str(schema_file), messages
    )


@dataclass
class WireFormat:
    """How to write the topic's values: the Confluent header of the registered schema, its
    layout as (field, type) pairs ("null|int" for a nullable union), and ``encode(record)``."""

    schema_id: int
    header: bytes
    layout: tuple[tuple[str, str], ...]
    encode: Callable[[dict[str, Any]], bytes]


def _layout(schema: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    def name(t: Any) -> str:
        if isinstance(t, list):
            return "|".join(name(x) for x in t)
        return t if isinstance(t, str) else json.dumps(t, sort_keys=True)

    return tuple((f["name"], name(f["type"])) for f in schema["fields"])


def wire_format(settings: Settings, topic: str) -> WireFormat:
    """Registers the schema file first (idempotent; refused if incompatible), then asks the
    registry for the id of exactly that schema under ``<topic>-value`` (what confluent-kafka's
    AvroSerializer does with auto-registration off, once). ``encode`` is fastavro's schemaless
    writer after a header built once: the serializer's per-record work (subject name, schema
    lookups, new buffers) cost several times the encoding itself."""
    import io
    import struct

    from confluent_kafka.schema_registry import Schema
    from fastavro import parse_schema, schemaless_writer

    register(settings)
    text = load_schema(settings.event_schema_file)
    schema_id = client(settings).lookup_schema(f"{topic}-value", Schema(text, "AVRO")).schema_id
    schema = json.loads(text)
    parsed = parse_schema(schema)
    header = struct.pack(">bI", 0, schema_id)

    def encode(record: dict[str, Any]) -> bytes:
        out = io.BytesIO()
        out.write(header)
        schemaless_writer(out, parsed, record)
        return out.getvalue()

    return WireFormat(schema_id, header, _layout(schema), encode)


def avro_encoder(settings: Settings, topic: str) -> Callable[[dict[str, Any]], bytes]:
    """``encode(record) -> bytes`` in the Confluent wire format with the registered schema."""
    return wire_format(settings, topic).encode
