"""zstd sizes for study B: compressed payloads and the inference script that is part of every
program (bits = 8 x compressed bytes).

One-shot compression of the whole input (the source size is known, as with the `zstd` CLI on
a file), no checksum: the frame holds exactly what a decoder needs. `long=True` turns on
long-distance matching with an explicit window (2^27 bytes, the CLI's `--long` default), which
helps on large weight payloads with repeats far apart.
"""

from __future__ import annotations

import os

DEFAULT_LEVEL = 19
LONG_WINDOW_LOG = 27  # = zstd CLI --long default; decoders accept it without extra settings


def _compressor(level: int, long: bool):
    import zstandard

    lo, hi = 1, zstandard.MAX_COMPRESSION_LEVEL
    if not isinstance(level, int) or not lo <= level <= hi:
        raise ValueError(f"zstd level must be an integer in [{lo}, {hi}], got {level!r}")
    if long:
        params = zstandard.ZstdCompressionParameters.from_level(
            level, window_log=LONG_WINDOW_LOG, enable_ldm=True, write_checksum=False, write_content_size=True
        )
        return zstandard.ZstdCompressor(compression_params=params)
    return zstandard.ZstdCompressor(level=level, write_checksum=False, write_content_size=True)


def compress(data: bytes, level: int = DEFAULT_LEVEL, long: bool = False) -> bytes:
    """zstd-compress `data` (one frame, content size recorded, no checksum)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"compress: data must be bytes, got {type(data).__name__}")
    return _compressor(level, long).compress(bytes(data))


def decompress(blob: bytes) -> bytes:
    """Inverse of compress (works for both normal and long mode)."""
    import zstandard

    return zstandard.ZstdDecompressor(max_window_size=1 << LONG_WINDOW_LOG).decompress(blob)


def compressed_bits(data: bytes, level: int = DEFAULT_LEVEL, long: bool = False) -> int:
    """8 x the zstd-compressed size of `data`, in bits."""
    return 8 * len(compress(data, level=level, long=long))


def script_bits(path: str | os.PathLike, level: int = DEFAULT_LEVEL) -> int:
    """Bits charged for an inference script: 8 x zstd-compressed size of the file's bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"script_bits: cannot read script {os.fspath(path)!r}: {e.strerror}") from None
    return compressed_bits(data, level=level)
