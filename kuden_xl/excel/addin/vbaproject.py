"""The VBA project inside ``vbaProject.bin`` (MS-OVBA 2.3): read it, change modules, write it.

The storage holds ``PROJECT`` (text properties), ``PROJECTwm`` (module name map), ``VBA/dir``
(compressed records describing the project and each module), ``VBA/_VBA_PROJECT`` and one
stream per module: an optional p-code cache followed, at the module's MODULEOFFSET, by the
compressed source.

Changed and new modules are written as source only (MODULEOFFSET 0) with ``_VBA_PROJECT`` =
``CC 61 FF FF 00 01 00``: version 0xFFFF tells Office that every cache is stale (MS-OVBA 1.6,
2.3.4.1), so Excel compiles from source. xlwings ships its template in this shape. Untouched
modules keep their streams and dir records byte for byte; the project ID and the CMG/DPB/GC
lines of ``PROJECT`` are kept, because Excel reports a project as unviewable when they disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from kuden_xl.excel.addin import cfb, ovba

VBA_PROJECT_STREAM = bytes.fromhex("cc61ffff000100")
_PROJECTVERSION = 0x09  # the one record whose size field (4) does not count its 6 data bytes
_CODEPAGE, _NAME, _MODULES, _COOKIE, _TERMINATOR = 0x03, 0x04, 0x0F, 0x13, 0x10
_M_NAME, _M_NAME_U, _M_STREAM, _M_STREAM_U = 0x19, 0x47, 0x1A, 0x32
_M_DOC, _M_DOC_U, _M_OFFSET, _M_HELP, _M_COOKIE = 0x1C, 0x48, 0x31, 0x1E, 0x2C
_M_PROCEDURAL, _M_END = 0x21, 0x2B
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")


class VbaProjectError(ValueError):
    """``vbaProject.bin`` is not a VBA project this module understands."""


@dataclass(frozen=True)
class Record:
    """One ``dir`` stream record: id and data (for PROJECTVERSION the 6 bytes after size 4)."""

    id: int
    data: bytes

    def encode(self) -> bytes:
        size = 4 if self.id == _PROJECTVERSION else len(self.data)
        return self.id.to_bytes(2, "little") + size.to_bytes(4, "little") + self.data


@dataclass(frozen=True)
class Module:
    """A module's ``dir`` records, kept raw so an untouched module is written back unchanged."""

    records: tuple[Record, ...]
    codepage: str

    def _get(self, record_id: int) -> bytes:
        for r in self.records:
            if r.id == record_id:
                return r.data
        raise VbaProjectError(f"module record 0x{record_id:02X} missing")

    @property
    def name(self) -> str:
        return self._get(_M_NAME).decode(self.codepage)

    @property
    def stream_name(self) -> str:
        return self._get(_M_STREAM_U).decode("utf-16-le")

    @property
    def offset(self) -> int:
        return int.from_bytes(self._get(_M_OFFSET), "little")

    def with_offset(self, offset: int) -> Module:
        records = tuple(
            Record(r.id, offset.to_bytes(4, "little")) if r.id == _M_OFFSET else r
            for r in self.records
        )
        return replace(self, records=records)


def new_module(name: str, codepage: str) -> Module:
    """Records of a new standard module whose source starts at offset 0 of its stream."""
    check_identifier(name, "module name")
    mbcs, utf16 = name.encode(codepage), name.encode("utf-16-le")
    records = [
        Record(_M_NAME, mbcs),
        Record(_M_NAME_U, utf16),
        Record(_M_STREAM, mbcs),
        Record(_M_STREAM_U, utf16),
        Record(_M_DOC, b""),
        Record(_M_DOC_U, b""),
        Record(_M_OFFSET, bytes(4)),
        Record(_M_HELP, bytes(4)),
        Record(_M_COOKIE, b"\xff\xff"),  # "MUST be 0xFFFF on write" (2.3.4.2.3.2.9)
        Record(_M_PROCEDURAL, b""),
        Record(_M_END, bytes(0)),
    ]
    return Module(tuple(records), codepage)


def check_identifier(name: str, what: str) -> None:
    """VBA names: ASCII letter first, then letters, digits or ``_`` (31 characters at most)."""
    if not _IDENTIFIER.fullmatch(name):
        raise VbaProjectError(f"{what} {name!r} is not a VBA identifier")


@dataclass(frozen=True)
class Project:
    """The parsed ``dir`` stream: everything before the module list, and the modules."""

    head: tuple[Record, ...]  # information and reference records, kept as read
    cookie: Record
    modules: tuple[Module, ...]
    codepage: str

    @property
    def name(self) -> str:
        for r in self.head:
            if r.id == _NAME:
                return r.data.decode(self.codepage)
        raise VbaProjectError("PROJECTNAME record missing")

    def module(self, name: str) -> Module:
        for m in self.modules:
            if m.name == name:
                return m
        raise VbaProjectError(f"no module {name!r} in the VBA project")

    def encode(self) -> bytes:
        out = bytearray()
        for record in self.head:
            out += record.encode()
        out += Record(_MODULES, len(self.modules).to_bytes(2, "little")).encode()
        out += self.cookie.encode()
        for m in self.modules:
            for record in m.records:
                out += record.encode()
        out += Record(_TERMINATOR, b"").encode()
        return bytes(out)


def parse_records(data: bytes) -> list[Record]:
    records = []
    pos = 0
    while pos < len(data):
        if pos + 6 > len(data):
            raise VbaProjectError(f"dir stream truncated at byte {pos}")
        rid = int.from_bytes(data[pos : pos + 2], "little")
        size = int.from_bytes(data[pos + 2 : pos + 6], "little")
        if rid == _PROJECTVERSION:
            size = 6
        if pos + 6 + size > len(data):
            raise VbaProjectError(f"dir record 0x{rid:02X} at byte {pos} runs past the end")
        records.append(Record(rid, data[pos + 6 : pos + 6 + size]))
        pos += 6 + size
    return records


def parse_dir(data: bytes) -> Project:
    """Parse a decompressed ``dir`` stream."""
    records = parse_records(data)
    ids = [r.id for r in records]
    if _MODULES not in ids or not ids or ids[-1] != _TERMINATOR:
        raise VbaProjectError("dir stream lacks PROJECTMODULES or its terminator")
    at = ids.index(_MODULES)
    head = tuple(records[:at])
    codepages = [r for r in head if r.id == _CODEPAGE]
    if not codepages:
        raise VbaProjectError("PROJECTCODEPAGE record missing")
    codepage = f"cp{int.from_bytes(codepages[0].data, 'little')}"
    count = int.from_bytes(records[at].data, "little")
    cookie = records[at + 1]
    if cookie.id != _COOKIE:
        raise VbaProjectError("PROJECTCOOKIE record missing")
    modules: list[Module] = []
    current: list[Record] = []
    for r in records[at + 2 : -1]:
        current.append(r)
        if r.id == _M_END:
            modules.append(Module(tuple(current), codepage))
            current = []
    if current or len(modules) != count:
        raise VbaProjectError(f"dir stream lists {count} modules, found {len(modules)}")
    return Project(head, cookie, tuple(modules), codepage)


@dataclass(frozen=True)
class VbaFile:
    """``vbaProject.bin`` as streams plus its parsed ``dir``."""

    streams: Mapping[str, bytes]
    project: Project

    @classmethod
    def read(cls, data: bytes) -> VbaFile:
        streams = cfb.read(data)
        if "VBA/dir" not in streams or "PROJECT" not in streams:
            raise VbaProjectError("not a VBA project storage (no VBA/dir or PROJECT stream)")
        return cls(streams, parse_dir(ovba.decompress(streams["VBA/dir"])))

    def source(self, module: str) -> str:
        """The module's source text, decoded from the project code page."""
        m = self.project.module(module)
        stream = self.streams[f"VBA/{m.stream_name}"]
        return ovba.decompress(stream[m.offset :]).decode(self.project.codepage)


def _encode_source(name: str, source: str, codepage: str) -> bytes:
    try:
        raw = source.encode(codepage)
    except UnicodeEncodeError as exc:
        # The project code page (1252 in xlwings' template) cannot hold Japanese: VBA source
        # stays ASCII; Japanese text belongs in customUI.xml, which is UTF-8.
        raise VbaProjectError(
            f"module {name}: {exc.object[exc.start : exc.end]!r} not in {codepage}"
        ) from exc
    if not raw.startswith(f'Attribute VB_Name = "{name}"'.encode(codepage)):
        raise VbaProjectError(f'module {name}: source must start with Attribute VB_Name = "{name}"')
    return raw


@dataclass(frozen=True)
class ModuleChange:
    """Replace module ``old`` (or add one, when ``old`` is None) with ``name`` and ``source``."""

    name: str
    source: str
    old: str | None = None


def rebuild(vba: VbaFile, *, project_name: str, changes: Sequence[ModuleChange]) -> bytes:
    """A new ``vbaProject.bin``: ``changes`` applied, everything else carried over."""
    check_identifier(project_name, "VBA project name")
    project, codepage = vba.project, vba.project.codepage
    modules = list(project.modules)
    streams = {
        path: data
        for path, data in vba.streams.items()
        # Performance caches (SRP) would describe the old modules; version 0xFFFF ignores them.
        if not path.startswith("VBA/__SRP_")
    }
    renames: dict[str, str] = {}
    for change in changes:
        raw = _encode_source(change.name, change.source, codepage)
        if change.old is None:
            target = new_module(change.name, codepage)
            modules.append(target)
        else:
            i = modules.index(project.module(change.old))
            if change.old == change.name:
                target = modules[i].with_offset(0)
            else:
                del streams[f"VBA/{modules[i].stream_name}"]
                target = new_module(change.name, codepage)
                renames[change.old] = change.name
            modules[i] = target
        if len({m.name.upper() for m in modules}) != len(modules):
            raise VbaProjectError(f"module name {change.name!r} is used twice")
        streams[f"VBA/{target.stream_name}"] = ovba.compress(raw)

    head = tuple(
        Record(_NAME, project_name.encode(codepage)) if r.id == _NAME else r for r in project.head
    )
    new_project = replace(project, head=head, modules=tuple(modules))
    streams["VBA/dir"] = ovba.compress(new_project.encode())
    streams["VBA/_VBA_PROJECT"] = VBA_PROJECT_STREAM
    added = [c.name for c in changes if c.old is None]
    streams["PROJECT"] = _project_stream(
        streams["PROJECT"].decode(codepage), project_name, renames, added
    ).encode(codepage)
    streams["PROJECTwm"] = (
        b"".join(
            m.name.encode(codepage) + b"\0" + m.name.encode("utf-16-le") + b"\0\0" for m in modules
        )
        + b"\0\0"
    )
    return cfb.write(streams)


_MODULE_LINE = re.compile(r"(Document|Module|Class|BaseClass)=([^/\r\n]+)(.*)")


def _project_stream(text: str, name: str, renames: Mapping[str, str], added: Sequence[str]) -> str:
    """Edit the PROJECT text: module lines, Name=, [Workspace]; keep ID, CMG, DPB, GC as is."""
    lines = text.split("\r\n")
    out: list[str] = []
    section = ""
    last_module_line = workspace_end = -1
    for line in lines:
        if line.startswith("[") and line.endswith("]"):
            if section == "[Workspace]":
                workspace_end = len(out)
            section = line
        m = _MODULE_LINE.fullmatch(line)
        if not section and m:
            line = f"{m[1]}={renames.get(m[2], m[2])}{m[3]}"
            last_module_line = len(out)
        elif not section and line.startswith("Name="):
            line = f'Name="{name}"'
        elif section == "[Workspace]" and "=" in line:
            key = line.split("=", 1)[0]
            if key in renames:
                line = f"{renames[key]}=0, 0, 0, 0, C"
        out.append(line)
    if last_module_line < 0:
        raise VbaProjectError("PROJECT stream lists no modules")
    if section == "[Workspace]":
        workspace_end = len(out)
        while workspace_end and out[workspace_end - 1] == "":
            workspace_end -= 1  # insert before the trailing blank lines
    if workspace_end >= 0:
        out[workspace_end:workspace_end] = [f"{a}=0, 0, 0, 0, C" for a in added]
    out[last_module_line + 1 : last_module_line + 1] = [f"Module={a}" for a in added]
    return "\r\n".join(out)
