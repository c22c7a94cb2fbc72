"""Minimal MS-CFB (OLE compound file) reader and version-3 writer for ``vbaProject.bin``.

The file model is flat: a mapping from stream path (``"VBA/dir"``, storages joined by ``/``) to
the stream's bytes. Storages exist implicitly as path prefixes. Class IDs, state bits and
timestamps are not kept: a ``vbaProject.bin`` carries none (xlwings' template has all zero).

Writer layout (512-byte sectors): streams of 4096 bytes or more in regular sectors; smaller ones
in the mini stream (64-byte sectors, owned by the root entry); then the mini FAT, the directory
and the FAT. The header's 109 DIFAT slots address up to 109 FAT sectors (a ~7 MB file), far more
than an add-in needs, so no DIFAT sectors are written. Each storage's children form a balanced
binary tree in CFB name order, coloured so that it is a valid red-black tree (MS-CFB 2.6.4).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
MINI_CUTOFF = 4096
SECTOR = 512
MINI_SECTOR = 64
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_RED, _BLACK = 0, 1
_DIR_ENTRY = struct.Struct("<64sHBBIII16sIQQIQ")  # 128 bytes, MS-CFB 2.6.1
_HEADER = struct.Struct("<8s16sHHHHH6sIIIIIIIII")  # the 76 bytes before the DIFAT array


class CfbError(ValueError):
    """The bytes are not a compound file this module can read."""


# --- reading ---------------------------------------------------------------------------------


def read(data: bytes) -> dict[str, bytes]:
    """All streams of a compound file, by path (``"VBA/dir"``)."""
    if len(data) < 512 or data[:8] != MAGIC:
        raise CfbError("not an OLE compound file")
    fields = _HEADER.unpack_from(data)
    sector_shift, mini_shift = fields[5], fields[6]
    if sector_shift not in (9, 12) or mini_shift != 6:
        raise CfbError(f"unsupported sector sizes (shift {sector_shift}/{mini_shift})")
    file = _Sectors(data, 1 << sector_shift)
    n_fat, first_dir, cutoff = fields[9], fields[10], fields[12]
    first_minifat, first_difat, n_difat = fields[13], fields[15], fields[16]
    fat_sectors = _fat_sectors(file, first_difat, n_difat)
    if len(fat_sectors) != n_fat:
        raise CfbError(f"header says {n_fat} FAT sectors, DIFAT lists {len(fat_sectors)}")
    fat = _words(b"".join(file.sector(s) for s in fat_sectors))

    directory = file.chained(first_dir, fat)
    entries = [
        _DIR_ENTRY.unpack_from(directory, off) for off in range(0, len(directory) - 127, 128)
    ]
    if not entries or entries[0][2] != _ROOT:
        raise CfbError("no root entry")
    root = entries[0]
    mini_stream = file.chained(root[11], fat)[: root[12]]
    minifat = _words(file.chained(first_minifat, fat))

    def content(entry: tuple[Any, ...]) -> bytes:
        start, length = int(entry[11]), int(entry[12]) & 0xFFFFFFFF  # v3: high word unused
        if length < cutoff:
            sectors = _chain_of(start, minifat)
            blob = b"".join(mini_stream[s * MINI_SECTOR : (s + 1) * MINI_SECTOR] for s in sectors)
        else:
            blob = file.chained(start, fat)
        if len(blob) < length:
            raise CfbError("stream shorter than its directory entry says")
        return blob[:length]

    return _streams(entries, content)


class _Sectors:
    """The sectors of one compound file being read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def sector(self, i: int) -> bytes:
        start = (i + 1) * self.size  # the header fills sector "-1" (512 or 4096 bytes)
        if start >= len(self.data):
            raise CfbError(f"sector {i} lies outside the file")
        return self.data[start : start + self.size].ljust(self.size, b"\0")

    def chained(self, start: int, table: list[int]) -> bytes:
        """The sectors of the chain from ``start`` in ``table`` (the FAT), joined."""
        return b"".join(self.sector(s) for s in _chain_of(start, table))


def _fat_sectors(file: _Sectors, first_difat: int, n_difat: int) -> list[int]:
    """The FAT's sectors: the header's 109 DIFAT slots, then the DIFAT sectors' lists."""
    fat_sectors = [s for s in struct.unpack_from("<109I", file.data, 76) if s != FREESECT]
    difat = first_difat
    for _ in range(n_difat):
        words = struct.unpack(f"<{file.size // 4}I", file.sector(difat))
        fat_sectors += [s for s in words[:-1] if s != FREESECT]
        difat = words[-1]
    return fat_sectors


def _chain_of(start: int, table: list[int]) -> Iterator[int]:
    """The sector chain from ``start`` through ``table`` (FAT or mini FAT)."""
    seen: set[int] = set()
    while start != ENDOFCHAIN:
        if start >= len(table) or start in seen:
            raise CfbError(f"broken sector chain at {start}")
        seen.add(start)
        yield start
        start = table[start]


def _streams(
    entries: list[tuple[Any, ...]], content: Callable[[tuple[Any, ...]], bytes]
) -> dict[str, bytes]:
    """Walk the directory tree from the root entry: each stream's path → ``content(entry)``."""
    streams: dict[str, bytes] = {}

    visited: set[int] = set()

    def walk(sid: int, prefix: str) -> None:
        if sid == NOSTREAM:
            return
        if sid >= len(entries) or sid in visited:
            raise CfbError("broken directory tree")
        visited.add(sid)
        entry = entries[sid]
        name = entry[0][: max(entry[1] - 2, 0)].decode("utf-16-le")
        walk(entry[4], prefix)
        walk(entry[5], prefix)
        if entry[2] == _STREAM:
            streams[prefix + name] = content(entry)
        elif entry[2] == _STORAGE:
            walk(entry[6], f"{prefix}{name}/")

    walk(entries[0][6], "")
    return streams


def _words(blob: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(blob) // 4}I", blob))


# --- writing ---------------------------------------------------------------------------------


class _Node:
    def __init__(self, name: str, kind: int, data: bytes = b"") -> None:
        self.name, self.kind, self.data = name, kind, data
        self.children: dict[str, _Node] = {}
        self.left = self.right = self.child = NOSTREAM
        self.color = _BLACK
        self.start, self.size = ENDOFCHAIN, 0


def _cfb_key(name: str) -> tuple[int, str]:
    # MS-CFB 2.6.4: shorter names sort first, then a case-insensitive code-point comparison.
    return len(name.encode("utf-16-le")) // 2, name.upper()


def _tree(nodes: list[_Node], index: dict[int, int]) -> int:
    """Link ``nodes`` (sorted) as a balanced red-black tree; return the root's SID."""
    depth: dict[int, int] = {}

    def link(lo: int, hi: int, level: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        node = nodes[mid]
        depth[id(node)] = level
        node.left = link(lo, mid, level + 1)
        node.right = link(mid + 1, hi, level + 1)
        return index[id(node)]

    root = link(0, len(nodes), 0)
    # Leaves of a balanced split differ in depth by at most one: painting the deepest level
    # red (never the root) gives every root-to-leaf path the same number of black nodes.
    deepest = max(depth.values(), default=0)
    for node in nodes:
        node.color = _RED if deepest and depth[id(node)] == deepest else _BLACK
    return root


def _chain(first: int, count: int, fat: list[int]) -> None:
    for i in range(first, first + count):
        fat[i] = i + 1 if i + 1 < first + count else ENDOFCHAIN


def write(streams: Mapping[str, bytes]) -> bytes:
    """A version-3 compound file holding ``streams`` (path → bytes)."""
    order = _directory_order(streams)
    root = order[0]
    big, mini, minifat = _stream_data(order)
    n_big = len(big) // SECTOR
    n_mini = -(-len(mini) // SECTOR)
    n_minifat = -(-len(minifat) // (SECTOR // 4))
    n_dir = -(-len(order) // (SECTOR // 128))
    n_fat = _fat_size(n_big + n_mini + n_minifat + n_dir)

    fat = [FREESECT] * (n_fat * SECTOR // 4)
    for node in order:
        if node.kind == _STREAM and node.size >= MINI_CUTOFF:
            _chain(node.start, -(-node.size // SECTOR), fat)
    mini_start, minifat_start = n_big, n_big + n_mini
    dir_start, fat_start = minifat_start + n_minifat, minifat_start + n_minifat + n_dir
    _chain(mini_start, n_mini, fat)
    _chain(minifat_start, n_minifat, fat)
    _chain(dir_start, n_dir, fat)
    for i in range(fat_start, fat_start + n_fat):
        fat[i] = FATSECT
    if mini:
        root.start, root.size = mini_start, len(mini)

    directory = _directory(order)
    minifat += [FREESECT] * (n_minifat * SECTOR // 4 - len(minifat))
    header = _HEADER.pack(
        MAGIC, bytes(16), 0x003E, 0x0003, 0xFFFE, 9, 6, bytes(6), 0, n_fat, dir_start, 0,
        MINI_CUTOFF, minifat_start if n_minifat else ENDOFCHAIN, n_minifat, ENDOFCHAIN, 0,
    )  # fmt: skip
    difat = list(range(fat_start, fat_start + n_fat)) + [FREESECT] * (109 - n_fat)
    header += struct.pack("<109I", *difat)
    body: list[bytes] = [
        bytes(big),
        bytes(mini.ljust(n_mini * SECTOR, b"\0")),
        struct.pack(f"<{len(minifat)}I", *minifat),
        bytes(directory),
        struct.pack(f"<{len(fat)}I", *fat),
    ]
    return header + b"".join(body)


def _directory_order(streams: Mapping[str, bytes]) -> list[_Node]:
    """The storage tree of ``streams``, its nodes in directory order (= SIDs; root first), each
    storage's children linked as a red-black tree."""
    root = _Node("Root Entry", _ROOT)
    for path, data in streams.items():
        parts = path.split("/")
        node = root
        for part in parts[:-1]:
            node = node.children.setdefault(part, _Node(part, _STORAGE))
            if node.kind != _STORAGE:
                raise ValueError(f"{path}: {part} is a stream, not a storage")
        if not parts[-1] or parts[-1] in node.children or len(parts[-1]) > 31:
            raise ValueError(f"bad or duplicate stream path {path!r}")
        node.children[parts[-1]] = _Node(parts[-1], _STREAM, bytes(data))

    order: list[_Node] = []
    pending = [root]
    while pending:
        node = pending.pop(0)
        order.append(node)
        pending += sorted(node.children.values(), key=lambda n: _cfb_key(n.name))
    index = {id(n): sid for sid, n in enumerate(order)}
    for node in order:
        if node.children:
            kids = sorted(node.children.values(), key=lambda n: _cfb_key(n.name))
            node.child = _tree(kids, index)
    return order


def _stream_data(order: list[_Node]) -> tuple[bytearray, bytearray, list[int]]:
    """Place each stream: big ones in regular sectors from sector 0, small ones in the mini
    stream (sets ``start`` and ``size``). Returns the regular sectors, the mini stream and the
    mini FAT."""
    big = bytearray()
    mini = bytearray()
    minifat: list[int] = []
    for node in order:
        if node.kind != _STREAM:
            continue
        node.size = len(node.data)
        if node.size == 0:
            continue
        if node.size >= MINI_CUTOFF:
            node.start = len(big) // SECTOR
            big += node.data.ljust(-(-node.size // SECTOR) * SECTOR, b"\0")
        else:
            node.start = len(mini) // MINI_SECTOR
            count = -(-node.size // MINI_SECTOR)
            mini += node.data.ljust(count * MINI_SECTOR, b"\0")
            minifat += [0] * count
            _chain(node.start, count, minifat)
    return big, mini, minifat


def _fat_size(n_data: int) -> int:
    """FAT sectors needed for ``n_data`` other sectors plus the FAT's own."""
    n_fat = 0
    while n_fat != -(-(n_data + n_fat) // (SECTOR // 4)):
        n_fat = -(-(n_data + n_fat) // (SECTOR // 4))
    if n_fat > 109:
        raise ValueError("compound file too large for a header-only DIFAT")
    return n_fat


def _directory(order: list[_Node]) -> bytearray:
    """The directory entries of ``order``, padded to whole sectors."""
    directory = bytearray()
    for node in order:
        name = node.name.encode("utf-16-le") + b"\0\0"
        directory += _DIR_ENTRY.pack(
            name, len(name), node.kind, node.color, node.left, node.right, node.child,
            bytes(16), 0, 0, 0, 0 if node.kind == _STORAGE else node.start, node.size,
        )  # fmt: skip
    while len(directory) % SECTOR:  # unused entries: all zero but "no sibling/child"
        directory += _DIR_ENTRY.pack(
            b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0
        )
    return directory
