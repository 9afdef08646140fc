"""The at-rest encoding: gzip of canonical bytes, and plain JSON from before it still reads."""

from __future__ import annotations

import gzip

import pytest

from shared.store import codec

CANONICAL = b'{"id":"a","name":"caf\xc3\xa9","values":[1,2,3]}'


def test_encoded_bytes_decode_to_the_canonical_bytes():
    assert codec.decode(codec.encode(CANONICAL)) == CANONICAL


def test_encoded_bytes_are_a_standard_gzip_stream():
    assert gzip.decompress(codec.encode(CANONICAL)) == CANONICAL


def test_encoding_is_deterministic():
    assert codec.encode(CANONICAL) == codec.encode(CANONICAL)


def test_plain_json_written_before_compression_decodes_as_is():
    assert codec.decode(CANONICAL) == CANONICAL


def test_json_text_never_looks_encoded():
    assert not codec.is_encoded(CANONICAL)
    assert codec.is_encoded(codec.encode(CANONICAL))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:12] + bytes(len(b) - 12), id="zeroed-body"),
        pytest.param(lambda b: codec.GZIP_MAGIC, id="magic-only"),
    ],
)
def test_a_damaged_gzip_stream_is_undecodable(damage):
    with pytest.raises(codec.UndecodableError, match="gzip"):
        codec.decode(damage(codec.encode(CANONICAL * 50)))
