"""Message value encodings of the raw topic: JSON text, or Avro in the Confluent wire format.

The event stream (``stream.EventStream``) describes every message as JSON text plus its kind. An
encoder turns that into the bytes the producer sends:

* ``json``: the text as UTF-8, unchanged.
* ``avro``: valid records (clean, late, duplicate, and the semantic anomalies negative_amount and
  dropoff_before_pickup, which are well-typed) go through the registry serializer, so they carry
  the registered schema's id. The three *structural* anomaly classes cannot be written with the
  schema at all (the serializer refuses them), so in the registry format they become the poison a
  real Avro topic sees instead, one class each:

  ============== ===================================================== =========================
  manifest kind  message sent                                          dead-letter reason
  ============== ===================================================== =========================
  malformed_json the JSON text, no wire-format header (a producer that ``avro:not_wire_format``
                 bypasses the registry)
  missing_field  header with a schema id the registry never issued     ``avro:unknown_schema_id``
  wrong_type     a valid message cut in half (truncated body)          ``avro:undecodable``
  ============== ===================================================== =========================

The manifest records the format, and ``DEAD_LETTER_REASON`` tells verify which reason each kind
must produce.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

from .anomalies import MALFORMED_JSON, MISSING_FIELD, OUT_OF_RANGE, WRONG_TYPE

FORMATS = ("json", "avro")

#: Dead-letter reason (prefix before any ':<detail>', for avro the first two parts) per format
#: and structural anomaly kind.
DEAD_LETTER_REASON: dict[str, dict[str, str]] = {
    "json": {
        MALFORMED_JSON: "malformed_json",
        MISSING_FIELD: "missing_field",
        WRONG_TYPE: "wrong_type",
        OUT_OF_RANGE: "out_of_range",
    },
    "avro": {
        MALFORMED_JSON: "avro:not_wire_format",
        MISSING_FIELD: "avro:unknown_schema_id",
        WRONG_TYPE: "avro:undecodable",
        # a well-typed Avro record (a double) whose value no bronze column can hold
        OUT_OF_RANGE: "out_of_range",
    },
}

#: A schema id no registry hands out in practice (ids count up from 1).
UNKNOWN_SCHEMA_ID = 2**31 - 1
_WIRE_HEADER = struct.Struct(">bI")


def reason_key(reason: str) -> str:
    """The part of a dead-letter reason that names its class: ``missing_field:VendorID`` ->
    ``missing_field``; ``avro:unknown_schema_id`` -> itself."""
    parts = reason.split(":")
    return ":".join(parts[:2]) if parts[0] == "avro" else parts[0]


Encoder = Callable[[str, str], bytes]


def json_encoder() -> Encoder:
    def encode(value: str, kind: str) -> bytes:
        return value.encode("utf-8")

    return encode


def avro_encoder(serialize: Callable[[dict[str, Any]], bytes]) -> Encoder:
    """``serialize(record) -> wire-format bytes`` (the registry serializer) for valid records;
    the structural anomaly kinds become Avro poison (see the module docstring)."""
    last_ok: list[bytes] = []

    def encode(value: str | bytes, kind: str) -> bytes:
        if isinstance(value, bytes):  # encoded by the stream already (clean trips, avro)
            if last_ok:
                last_ok[0] = value
            else:
                last_ok.append(value)
            return value
        if kind == MALFORMED_JSON:
            return value.encode("utf-8")
        if kind in (MISSING_FIELD, WRONG_TYPE):
            if not last_ok:
                raise ValueError(f"a {kind} message needs a valid message before it")
            body = last_ok[0][_WIRE_HEADER.size :]
            if kind == MISSING_FIELD:
                return _WIRE_HEADER.pack(0, UNKNOWN_SCHEMA_ID) + body
            # a strict prefix of a record's encoding always runs out of bytes while decoding
            return last_ok[0][: _WIRE_HEADER.size + len(body) // 2]
        data = serialize(json.loads(value))
        if last_ok:
            last_ok[0] = data
        else:
            last_ok.append(data)
        return data

    return encode


def schema_id_of(value: bytes) -> int | None:
    """The schema id of a wire-format message, or None if it has no wire-format header."""
    if len(value) < _WIRE_HEADER.size or value[0] != 0:
        return None
    return _WIRE_HEADER.unpack_from(value)[1]
