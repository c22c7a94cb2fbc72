"""MS-OVBA 2.4.1 compression: the format of VBA module streams and the ``dir`` stream.

A CompressedContainer is the signature byte 0x01 followed by chunks. Each chunk encodes up to
4096 bytes of input: a 2-byte header (size - 3 in bits 0-11, signature 0b011 in bits 12-14,
"compressed" flag in bit 15), then groups of one flag byte and 8 tokens. A token is a literal
byte (flag bit 0) or a 2-byte copy token (flag bit 1) that repeats ``length`` bytes found
``offset`` bytes back in the same chunk; how its 16 bits split between offset and length
depends on how far into the chunk the token sits (2.4.1.3.19.1).

The compressor does not reproduce Office's exact byte output (nothing requires that); it finds
matches through a hash of 3-byte prefixes, which keeps compression of a 45 KB module fast in
pure Python. ``decompress`` is strict: it raises ``ValueError`` on anything malformed instead of
returning a best guess, because the builder uses it to read the template.
"""

from __future__ import annotations

CHUNK_SIZE = 4096
_SIGNATURE = 0x01
_CHUNK_SIGNATURE = 0b011 << 12
_COMPRESSED_FLAG = 0x8000
_MIN_MATCH = 3
# Candidates tried per position; more finds slightly longer matches at a higher cost.
_MAX_CANDIDATES = 48


def _bit_count(position_in_chunk: int) -> int:
    """Bits of a copy token used for the offset at this position (at least 4), 2.4.1.3.19.1."""
    return max((position_in_chunk - 1).bit_length(), 4)


def _compress_chunk(chunk: bytes) -> bytes:
    n = len(chunk)
    body = bytearray()
    prefixes: dict[bytes, list[int]] = {}
    indexed = 0  # positions < indexed are in `prefixes`

    def index_up_to(end: int) -> None:
        nonlocal indexed
        for p in range(indexed, min(end, n - _MIN_MATCH + 1)):
            prefixes.setdefault(chunk[p : p + _MIN_MATCH], []).append(p)
        indexed = max(indexed, end)

    pos = 0
    while pos < n:
        flag_at = len(body)
        body.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            bit_count = _bit_count(pos)
            max_len = min((0xFFFF >> bit_count) + _MIN_MATCH, n - pos)
            best_len, best_src = 0, 0
            if max_len >= _MIN_MATCH and pos > 0:
                candidates = prefixes.get(chunk[pos : pos + _MIN_MATCH], ())
                for src in reversed(candidates[-_MAX_CANDIDATES:]):
                    # Cheap reject: a better match must also agree at index best_len.
                    if best_len and chunk[src + best_len] != chunk[pos + best_len]:
                        continue
                    length = _MIN_MATCH
                    # The match may run past `pos` (overlap): the decompressor copies byte by
                    # byte, so it reproduces chunk[src + i] == chunk[pos + i] either way.
                    while length < max_len and chunk[src + length] == chunk[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_src = length, src
                        if length == max_len:
                            break
            if best_len >= _MIN_MATCH:
                offset = pos - best_src
                token = ((offset - 1) << (16 - bit_count)) | (best_len - _MIN_MATCH)
                body += token.to_bytes(2, "little")
                flags |= 1 << bit
                pos += best_len
            else:
                body.append(chunk[pos])
                pos += 1
            index_up_to(pos)
        body[flag_at] = flags

    if len(body) <= CHUNK_SIZE:
        header = (len(body) + 2 - 3) | _CHUNK_SIGNATURE | _COMPRESSED_FLAG
        return header.to_bytes(2, "little") + bytes(body)
    if n == CHUNK_SIZE:
        # Raw chunk: flag 0, size field 4095 (4098 - 3), then the 4096 bytes as they are.
        header = (CHUNK_SIZE + 2 - 3) | _CHUNK_SIGNATURE
        return header.to_bytes(2, "little") + chunk
    # A raw chunk is always 4096 bytes long; padding would add bytes to the module text.
    # Only incompressible binary in the last, partial chunk gets here; VBA text never does.
    raise ValueError(f"cannot encode an incompressible partial chunk of {n} bytes")


def compress(data: bytes) -> bytes:
    """Compress ``data`` into an MS-OVBA CompressedContainer."""
    out = bytearray([_SIGNATURE])
    for start in range(0, len(data), CHUNK_SIZE):
        out += _compress_chunk(bytes(data[start : start + CHUNK_SIZE]))
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """Decompress an MS-OVBA CompressedContainer; ``ValueError`` if it is malformed."""
    if not container or container[0] != _SIGNATURE:
        raise ValueError("not an MS-OVBA compressed container (signature byte)")
    out = bytearray()
    cur = 1
    while cur < len(container):
        if cur + 2 > len(container):
            raise ValueError(f"truncated chunk header at byte {cur}")
        header = int.from_bytes(container[cur : cur + 2], "little")
        if header & 0x7000 != _CHUNK_SIGNATURE:
            raise ValueError(f"bad chunk signature at byte {cur}")
        end = cur + (header & 0x0FFF) + 3
        if end > len(container):
            raise ValueError(f"chunk at byte {cur} runs past the end of the stream")
        chunk_start = len(out)
        cur += 2
        if not header & _COMPRESSED_FLAG:
            if end - cur != CHUNK_SIZE:
                raise ValueError(f"raw chunk at byte {cur - 2} is not {CHUNK_SIZE} bytes")
            out += container[cur:end]
            cur = end
            continue
        while cur < end:
            flags = container[cur]
            cur += 1
            for bit in range(8):
                if cur >= end:
                    break
                if not flags >> bit & 1:
                    out.append(container[cur])
                    cur += 1
                    continue
                if cur + 2 > end:
                    raise ValueError(f"truncated copy token at byte {cur}")
                token = int.from_bytes(container[cur : cur + 2], "little")
                cur += 2
                bit_count = _bit_count(len(out) - chunk_start)
                length = (token & (0xFFFF >> bit_count)) + _MIN_MATCH
                src = len(out) - ((token >> (16 - bit_count)) + 1)
                if src < chunk_start:
                    raise ValueError(f"copy token at byte {cur - 2} points before its chunk")
                for i in range(length):  # byte by byte: source and target may overlap
                    out.append(out[src + i])
        if len(out) - chunk_start > CHUNK_SIZE:
            raise ValueError("a chunk decompresses to more than 4096 bytes")
    return bytes(out)
