"""How cxbackup's JSON is encoded at rest: gzip of the canonical bytes.

Everything the repository writes (config objects, manifests, audits, plans, reports, locks) is
canonical JSON compressed with gzip (RFC 1952; level 6; modification time 0,
so equal input gives equal bytes). Configs and manifests shrink to about a third, which is most
of what a backup writes once little has changed. A stored blob is a standard ``.gz`` file:
download it and ``zcat`` it.

Content hashes never see the encoding: an object's name, a manifest's chain hash and every
verification are over the canonical bytes that ``decode`` returns. Stores written before
compression hold plain canonical JSON; ``decode`` tells the two apart by gzip's magic number
(JSON text never starts with byte 0x1f) and returns either as canonical bytes.
"""

from __future__ import annotations

import gzip
import zlib

GZIP_MAGIC = b"\x1f\x8b"
COMPRESS_LEVEL = 6  # level 1 is 2.5x faster but 10% bigger; 9 is 2x slower for 2% less


class UndecodableError(ValueError):
    """Stored bytes that are neither JSON text nor a complete gzip stream."""


def encode(canonical: bytes, level: int = COMPRESS_LEVEL) -> bytes:
    """The stored form of canonical JSON bytes."""
    return gzip.compress(canonical, compresslevel=level, mtime=0)


def decode(stored: bytes) -> bytes:
    """The canonical bytes of a stored blob, compressed or (written before compression) not."""
    if not is_encoded(stored):
        return stored
    try:
        return gzip.decompress(stored)
    except (OSError, EOFError, zlib.error):
        raise UndecodableError("a truncated or damaged gzip stream") from None


def is_encoded(stored: bytes) -> bool:
    """Whether ``stored`` is compressed (else it is plain JSON from before compression)."""
    return stored.startswith(GZIP_MAGIC)
