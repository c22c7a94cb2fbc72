"""The workbook's zip container read and copied raw: entries are bytes, not files to re-pack.

``rewrite_zip`` copies every entry as it is (local header, compressed data, timestamps, extra
fields, entry order, the archive comment) except those it is given new content for. ZIP64,
split and encrypted archives, and compression other than stored or deflate, are refused.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from .unsupported import UnsupportedWorkbook

_EOCD = struct.Struct("<4sHHHHIIH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_LOCAL = struct.Struct("<4sHHHHHIIIHH")


@dataclass
class Entry:
    name: str
    central: bytes  # the raw central directory record
    offset: int  # of the local header in the source
    end: int = 0  # where the next entry (or the central directory) starts

    @property
    def fields(self) -> tuple[int, ...]:
        return _CENTRAL.unpack_from(self.central)


@dataclass
class Archive:
    entries: list[Entry]  # central directory order
    comment: bytes
    cd_offset: int


def read_archive(f: BinaryIO) -> Archive:
    f.seek(0, 2)
    size = f.tell()
    tail_len = min(size, 65536 + _EOCD.size)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0:
        raise UnsupportedWorkbook("ZIP 形式として読めません")
    _, disk, cd_disk, n_here, n_total, cd_size, cd_offset, comment_len = _EOCD.unpack_from(tail, at)
    if (
        disk or cd_disk or n_here != n_total
        or 0xFFFF in (n_here, n_total)
        or 0xFFFFFFFF in (cd_size, cd_offset)
        or tail.rfind(b"PK\x06\x07", 0, at) >= 0
    ):  # fmt: skip
        raise UnsupportedWorkbook("ZIP64 または分割された ZIP 形式には書き込めません")
    comment = tail[at + _EOCD.size : at + _EOCD.size + comment_len]
    f.seek(cd_offset)
    cd = f.read(cd_size)
    entries: list[Entry] = []
    pos = 0
    for _ in range(n_total):
        fields = _CENTRAL.unpack_from(cd, pos)
        if fields[0] != b"PK\x01\x02":
            raise UnsupportedWorkbook("ZIP の目次が壊れています")
        flags, nlen, xlen, clen, offset = fields[3], fields[10], fields[11], fields[12], fields[16]
        if flags & 0x1:
            raise UnsupportedWorkbook("暗号化された ZIP には書き込めません")
        record = cd[pos : pos + _CENTRAL.size + nlen + xlen + clen]
        raw_name = record[_CENTRAL.size : _CENTRAL.size + nlen]
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
        entries.append(Entry(name, record, offset))
        pos += len(record)
    ordered = sorted(entries, key=lambda e: e.offset)
    for entry, following in zip(ordered, [*ordered[1:], None], strict=True):
        entry.end = following.offset if following else cd_offset
    return Archive(entries, comment, cd_offset)


def _copy_range(src: BinaryIO, dst: BinaryIO, start: int, end: int) -> None:
    src.seek(start)
    left = end - start
    while left > 0:
        chunk = src.read(min(left, 1 << 20))
        if not chunk:
            raise UnsupportedWorkbook("ZIP の内容が途中で切れています")
        dst.write(chunk)
        left -= len(chunk)


def _write_replaced(src: BinaryIO, dst: BinaryIO, entry: Entry, data: bytes) -> bytes:
    """Write ``data`` as ``entry``'s new content; returns its new central directory record."""
    src.seek(entry.offset)
    local = _LOCAL.unpack(src.read(_LOCAL.size))
    if local[0] != b"PK\x03\x04":
        raise UnsupportedWorkbook("ZIP の内容が壊れています")
    name_extra = src.read(local[9] + local[10])
    fields = list(entry.fields)
    method = 0 if fields[4] == 0 else 8
    if method:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = packer.compress(data) + packer.flush()
    else:
        packed = data
    crc = zlib.crc32(data)
    flags = fields[3] & ~0x8  # sizes are in the header: no data descriptor
    version = max(local[1], 20)
    header = _LOCAL.pack(
        b"PK\x03\x04", version, flags, method, local[4], local[5], crc, len(packed), len(data),
        local[9], local[10],
    )  # fmt: skip
    offset = dst.tell()
    dst.write(header + name_extra)
    dst.write(packed)
    fields[2] = max(fields[2], 20)
    fields[3], fields[4], fields[7], fields[8], fields[9] = (
        flags,
        method,
        crc,
        len(packed),
        len(data),
    )
    fields[16] = offset
    return _CENTRAL.pack(*fields) + entry.central[_CENTRAL.size :]


def _moved(entry: Entry, offset: int) -> bytes:
    fields = list(entry.fields)
    fields[16] = offset
    return _CENTRAL.pack(*fields) + entry.central[_CENTRAL.size :]


def rewrite_zip(src: BinaryIO, dst: BinaryIO, archive: Archive, parts: dict[str, bytes]) -> None:
    """Copy ``src`` to ``dst`` byte for byte, except the entries named in ``parts``."""
    ordered = sorted(archive.entries, key=lambda e: e.offset)
    if ordered and ordered[0].offset:
        _copy_range(src, dst, 0, ordered[0].offset)  # anything before the first entry
    central: dict[int, bytes] = {}
    for entry in ordered:
        if entry.name in parts:
            central[id(entry)] = _write_replaced(src, dst, entry, parts[entry.name])
        else:
            offset = dst.tell()
            if offset > 0xFFFFFFFF:
                raise UnsupportedWorkbook("4 GB を超えるブックには書き込めません")
            _copy_range(src, dst, entry.offset, entry.end)
            central[id(entry)] = _moved(entry, offset)
    cd_offset = dst.tell()
    for entry in archive.entries:
        dst.write(central[id(entry)])
    cd_size = dst.tell() - cd_offset
    if cd_offset > 0xFFFFFFFF:
        raise UnsupportedWorkbook("4 GB を超えるブックには書き込めません")
    n = len(archive.entries)
    dst.write(
        _EOCD.pack(b"PK\x05\x06", 0, 0, n, n, cd_size, cd_offset, len(archive.comment))
        + archive.comment
    )


def read_entry(src: BinaryIO, entry: Entry) -> bytes:
    src.seek(entry.offset)
    local = _LOCAL.unpack(src.read(_LOCAL.size))
    src.seek(entry.offset + _LOCAL.size + local[9] + local[10])
    fields = entry.fields
    packed = src.read(fields[8])
    if fields[4] == 0:
        data = packed
    elif fields[4] == 8:
        data = zlib.decompress(packed, -15)
    else:
        raise UnsupportedWorkbook(f"圧縮方式 {fields[4]} の ZIP には書き込めません")
    if zlib.crc32(data) != fields[7]:
        raise UnsupportedWorkbook(f"「{entry.name}」が壊れています（CRC 不一致）")
    return data
