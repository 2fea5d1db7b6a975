"""Walk the user's inputs, sniff each file's format and yield raw items.

A *source* is a file on disk. A source is either a single item (one ``.eml``) or a
container that holds many (an mbox, a zip archive). Formats are found by content
first (magic bytes, the shape of the first lines) and by extension only as a tie
breaker, because releases arrive with wrong or missing extensions (Enron's maildir
files are named ``1.``, ``2.`` …).

Readers never raise for bad input: what cannot be read becomes a fatal
:class:`~ingest.records.Problem` for that item and the walk goes on.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import SourceError
from .records import Problem, Provenance, RawItem

__all__ = [
    "Source",
    "SNIFFERS",
    "CONTAINERS",
    "find_sources",
    "sniff",
    "read_source",
    "split_mbox",
    "safe_path",
    "strip_leading_blank_lines",
    "MAX_ITEM_BYTES",
]

#: Largest single message we read into memory (a 50 MB attachment fits easily).
MAX_ITEM_BYTES = 256 * 1024 * 1024
#: Files up to this size are read whole in one call (smaller than MAX_ITEM_BYTES, so
#: a file read this way is never too big to be an item).
WHOLE_READ_BYTES = 1024 * 1024
#: Zip members that expand more than this ratio and past ZIP_BOMB_MIN_BYTES are refused.
ZIP_MAX_RATIO = 200
ZIP_BOMB_MIN_BYTES = 16 * 1024 * 1024
#: Total bytes one archive may expand to.
ZIP_MAX_TOTAL = 8 * 1024 * 1024 * 1024
ZIP_MAX_DEPTH = 3

Item = RawItem | Problem


def safe_path(path: str) -> str:
    """The path as text that can be stored: undecodable bytes in a file name become ``\\xff``.

    The real path (with surrogate escapes) is still used to open the file.
    """
    if path.isascii():
        return path
    return os.fsencode(path).decode("utf-8", "backslashreplace")


#: What safe_path makes of a byte that is not UTF-8: only bytes from 0x80 up can be.
_ESCAPED_BYTE = re.compile(r"\\x([89a-f][0-9a-f])")


def path_to_open(stored: str) -> str:
    r"""A path stored by :func:`safe_path` as a path that opens its file.

    Its ``\xff`` escapes become the bytes they stand for again; a name that holds a
    backslash and an ``x`` of its own, and so exists as stored, is kept as it is.

    >>> path_to_open(r"mail/caf\xe9.eml") == os.fsdecode(b"mail/caf\xe9.eml")
    True
    """
    if "\\x" not in stored or os.path.lexists(stored):
        return stored
    raw, at = bytearray(), 0
    for m in _ESCAPED_BYTE.finditer(stored):
        raw += stored[at : m.start()].encode("utf-8", "surrogateescape")
        raw.append(int(m.group(1), 16))
        at = m.end()
    raw += stored[at:].encode("utf-8", "surrogateescape")
    return os.fsdecode(bytes(raw))


def real_place(stored: str) -> str:
    """Where a path stored by :func:`safe_path` is, without following it: its folder's real
    path and its own name (a link's place, not its target's), stored the same way."""
    folder, name = os.path.split(path_to_open(stored))
    return safe_path(os.path.join(os.path.realpath(folder or "."), name))


@dataclass(frozen=True, slots=True)
class Source:
    """One file found under the inputs, with what we need to skip it next time.

    ``path`` opens the file and is spelled as the inputs were given. ``real`` is the
    file's absolute path with every link followed, which tells the same file apart from
    another whatever the spelling (``mail/1.`` from one folder, ``../mail/1.`` or
    ``/cases/x/mail/1.`` from another). ``recorded`` is set when the store already holds
    this file under another spelling: its rows keep that one.
    """

    path: str
    size: int
    mtime_ns: int
    mailbox: str
    real: str = ""
    recorded: str = ""

    @property
    def key(self) -> str:
        """The path as stored in the ``sources`` table (see :func:`safe_path`)."""
        return self.recorded or safe_path(self.path)

    @property
    def provenance(self) -> Provenance:
        """Where the whole file is, as problems and items found in it are recorded."""
        return Provenance(self.key, "", safe_path(self.mailbox))


# --- sniffing ---------------------------------------------------------------------

_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}[ \t]*:", re.ASCII)
_MBOX_FROM = re.compile(rb"^From \S*.*\d{4}", re.ASCII)
_ENVELOPE = re.compile(rb"^From \S+\s*$", re.ASCII)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_KNOWN_HEADERS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"received", b"return-path",
    b"mime-version", b"content-type", b"delivered-to", b"sender", b"reply-to", b"in-reply-to",
    b"references", b"x-", b"resent-", b"envelope-to", b"dkim-signature", b"newsgroups",
)


def strip_leading_blank_lines(head: bytes) -> bytes:
    """Drop whitespace-only lines before the first header (some exports start with them)."""
    if head[:1] not in (b"\n", b"\r", b" ", b"\t"):
        return head  # the usual case: no copy of a possibly huge message
    while True:
        line, sep, rest = head.partition(b"\n")
        if sep and not line.strip():
            head = rest
            continue
        return head


def _looks_rfc822(head: bytes) -> bool:
    """A header block that names a known header, or has three header lines."""
    lines = strip_leading_blank_lines(head).splitlines()[:20]
    names = 0
    for line in lines:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        if not _HEADER_LINE.match(line):
            break
        if line.split(b":", 1)[0].strip().lower().startswith(_KNOWN_HEADERS):
            return True  # the first known name decides (most mail starts with one)
        names += 1
    return names >= 3


def _sniff_zip(head: bytes, name: str) -> str | None:
    return "zip" if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06") else None


def _sniff_ole(head: bytes, name: str) -> str | None:
    return "msg" if head.startswith(_OLE_MAGIC) else None


def _sniff_pdf(head: bytes, name: str) -> str | None:
    return "pdf" if head.lstrip()[:5] == b"%PDF-" else None


def _sniff_mbox(head: bytes, name: str) -> str | None:
    first, _, rest = strip_leading_blank_lines(head).partition(b"\n")
    if _MBOX_FROM.match(first):
        return "mbox"
    # A lone envelope line without a date ("From jane@example.org") before headers.
    return "mbox" if _ENVELOPE.match(first.rstrip(b"\r")) and _looks_rfc822(rest) else None


def _sniff_rfc822(head: bytes, name: str) -> str | None:
    return "rfc822" if _looks_rfc822(head) else None


#: Ordered sniffers: ``(head bytes, file name) -> format or None``. Later issues add
#: their own (Outlook CSV, XLSX, printed text) by appending here.
SNIFFERS: list[Callable[[bytes, str], str | None]] = [
    _sniff_zip,
    _sniff_ole,
    _sniff_pdf,
    _sniff_mbox,
    _sniff_rfc822,
]


def sniff(head: bytes, name: str = "") -> str | None:
    """Return the format of a file from its first bytes (and name), or None.

    >>> sniff(b"From: a@example.org\\nSubject: hi\\n\\nbody")
    'rfc822'
    >>> sniff(b"From jane@example.org Mon Jan  7 10:00:00 2019\\nFrom: jane@example.org\\n")
    'mbox'
    """
    for sniffer in SNIFFERS:
        found = sniffer(head, name)
        if found:
            # An xlsx is a zip; let a more specific sniffer claim it first.
            return found
    return None


# --- walking ----------------------------------------------------------------------


def find_sources(inputs: Iterable[str | os.PathLike[str]]) -> Iterator[Source | Problem]:
    """Yield every file under the inputs (recursively), in a stable order.

    Symlinks that lead outside the input tree are refused (a Problem), so a planted
    link cannot pull the reader's private files into a case. Links to files inside it
    come after the rest of the tree, so a file reached both ways is cited by its own name
    (:meth:`ingest.store.Store.match_sources` reads it once).
    """
    for raw in inputs:
        root = Path(raw)
        if not root.exists():
            raise SourceError(f"{root}: no such file or directory")
        if root.is_file():
            st = root.stat()
            yield Source(str(root), st.st_size, st.st_mtime_ns, "", safe_path(os.path.realpath(root)))
            continue
        real_root = root.resolve()
        links: list[Source] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames.sort()
            for d in list(dirnames):
                full = Path(dirpath, d)
                if full.is_symlink():
                    dirnames.remove(d)
                    yield _outside_link(full, real_root) or Problem(
                        Provenance(safe_path(str(full))), "symlink-skipped",
                        "A symbolic link to a folder was not followed; pass its target as an input if it belongs to the case.",
                        fatal=True,
                    )
            # Per folder, not per file: the prefix (as pathlib would join it) and the mailbox.
            folder = Path(dirpath)
            prefix = "" if str(folder) == "." else str(folder).rstrip("/") + "/"
            real_prefix = os.path.join(os.path.realpath(folder), "")
            mailbox = _mailbox_of(folder / "-", root)
            for name in sorted(filenames):
                full = prefix + name
                try:
                    st = os.lstat(full)
                    if stat.S_ISLNK(st.st_mode):
                        bad = _outside_link(Path(full), real_root)
                        if bad:
                            yield bad
                            continue
                        st = os.stat(full)
                        if stat.S_ISREG(st.st_mode):
                            links.append(Source(full, st.st_size, st.st_mtime_ns, mailbox, safe_path(os.path.realpath(full))))
                        continue
                except OSError as exc:
                    yield Problem(Provenance(safe_path(full)), "unreadable", "The file could not be read.", str(exc), fatal=True)
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                yield Source(full, st.st_size, st.st_mtime_ns, mailbox, safe_path(real_prefix + name))
        yield from links


def _outside_link(link: Path, real_root: Path) -> Problem | None:
    target = link.resolve()
    if target == real_root or real_root in target.parents:
        return None
    return Problem(
        Provenance(safe_path(str(link))),
        "symlink-outside",
        "A symbolic link points outside the input folder and was not followed.",
        f"target: {target}",
        fatal=True,
    )


def _mailbox_of(path: Path, root: Path) -> str:
    """Name the custodian/folder a file sits in, relative to the input root."""
    rel = path.parent.relative_to(root).parts
    rel = tuple(p for p in rel if p not in ("cur", "new", "tmp"))
    return "/".join(rel)


# --- reading ----------------------------------------------------------------------


def read_source(source: Source, force_format: str | None = None) -> Iterator[Item]:
    """Yield the raw items (or fatal problems) found in one source file.

    ``force_format`` skips sniffing (``threadline ingest --format``).
    """
    prov = source.provenance
    try:
        with open(source.path, "rb") as fh:
            # Most mail is small: one read of the whole file, whose first 4 KB are the head.
            data = fh.read() if source.size <= WHOLE_READ_BYTES else None
            head = data[:4096] if data is not None else fh.read(4096)
            fmt = force_format or sniff(head, source.path)
            if fmt is None:
                yield _not_email(prov, head)
                return
            container = CONTAINERS.get(fmt)
            if container is not None:
                if data is not None:
                    yield from container(io.BytesIO(data), prov, 0)  # already read: not again
                    return
                fh.seek(0)
                yield from container(fh, prov, 0)
                return
            if source.size > MAX_ITEM_BYTES:
                yield _too_big(prov, source.size)
                return
            if data is None:
                fh.seek(0)
                data = fh.read()
            yield RawItem(prov, data, fmt)
    except OSError as exc:
        yield Problem(prov, "unreadable", "The file could not be read.", str(exc), fatal=True)


def _not_email(prov: Provenance, head: bytes) -> Problem:
    what = "empty" if not head.strip() else "not recognised as an email, mailbox or archive"
    return Problem(
        prov,
        "not-email",
        f"The file is {what}; if it is mail in another format, force one with --format.",
        repr(head[:60]),
        fatal=True,
    )


def _too_big(prov: Provenance, size: int) -> Problem:
    return Problem(
        prov,
        "too-large",
        f"The item is {size / 1e6:.0f} MB, larger than the {MAX_ITEM_BYTES / 1e6:.0f} MB a single message may be; it was not read.",
        fatal=True,
    )


def split_mbox(fh: BinaryIO, prov: Provenance, depth: int = 0) -> Iterator[Item]:
    """Split an mbox (mboxo or mboxrd) into messages, streaming line by line.

    A separator is a ``From `` line at the start of the file or after a blank line
    (RFC 4155). ``>From `` quoting is undone one level, which is exact for mboxrd
    and the usual best effort for mboxo.
    """
    index = -1
    buf: list[bytes] = []
    size = 0
    too_big = False
    prev_blank = True

    def flush() -> Item | None:
        if index < 0:
            return None
        place = _join(prov.place, f"mbox:{index}")
        item_prov = Provenance(prov.path, place, prov.mailbox)
        if too_big:
            return _too_big(item_prov, size)
        return RawItem(item_prov, b"".join(buf), _sniff_item(buf))

    for line in fh:
        if prev_blank and line.startswith(b"From ") and (_MBOX_FROM.match(line) or (index < 0 and _ENVELOPE.match(line.rstrip(b"\r\n") + b"\n"))):
            # The blank line before a separator belongs to the separator (RFC 4155).
            if buf and buf[-1] in (b"\n", b"\r\n"):
                buf.pop()
            done = flush()
            if done is not None:
                yield done
            index += 1
            buf, size, too_big = [], 0, False
            prev_blank = False
            continue
        if index < 0:
            # Text before the first separator: keep it as an item of its own.
            index = 0
        prev_blank = line in (b"\n", b"\r\n")
        if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
            line = line[1:]
        size += len(line)
        if size > MAX_ITEM_BYTES:
            too_big = True
            buf = []
        elif not too_big:
            buf.append(line)
    if index >= 0:
        # The last message ends at end of file; a trailing blank line belongs to the separator.
        if buf and buf[-1] in (b"\n", b"\r\n"):
            buf.pop()
        done = flush()
        if done is not None:
            yield done


def _sniff_item(lines: list[bytes]) -> str:
    return "rfc822"


def _join(outer: str, inner: str) -> str:
    return f"{outer}|{inner}" if outer else inner


def read_zip(fh: BinaryIO, prov: Provenance, depth: int = 0) -> Iterator[Item]:
    """Read each member of a zip archive, refusing traversal and bombs.

    Members are read into memory one at a time (bounded by MAX_ITEM_BYTES) and sniffed
    like files; nested zips are followed up to ZIP_MAX_DEPTH levels.
    """
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield Problem(prov, "bad-archive", "The zip archive is damaged and could not be opened.", str(exc), fatal=True)
        return
    total = 0
    with zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            name = info.filename
            member = Provenance(prov.path, _join(prov.place, f"zip:{name}"), _zip_mailbox(prov.mailbox, name))
            parts = name.replace("\\", "/").split("/")
            if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
                yield Problem(member, "zip-traversal", "An archive member has a path that climbs out of the archive (../ or absolute); it was refused.", name, fatal=True)
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > ZIP_BOMB_MIN_BYTES and ratio > ZIP_MAX_RATIO:
                yield Problem(member, "zip-bomb", f"An archive member would expand {ratio:.0f}-fold to {info.file_size / 1e6:.0f} MB; it was refused as a likely zip bomb.", fatal=True)
                continue
            if info.file_size > MAX_ITEM_BYTES:
                yield _too_big(member, info.file_size)
                continue
            total += info.file_size
            if total > ZIP_MAX_TOTAL:
                yield Problem(member, "zip-bomb", "The archive expands past 8 GB in total; the remaining members were refused.", fatal=True)
                return
            try:
                data = _read_member(zf, info)
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
                yield Problem(member, "bad-archive", "An archive member could not be decompressed (damaged or encrypted).", str(exc), fatal=True)
                continue
            fmt = sniff(data[:4096], name)
            if fmt is None:
                yield _not_email(member, data[:4096])
                continue
            container = CONTAINERS.get(fmt)
            if container is not None:
                if fmt == "zip" and depth + 1 > ZIP_MAX_DEPTH:
                    yield Problem(member, "zip-bomb", "Archives nested more than three deep were refused.", fatal=True)
                    continue
                yield from container(io.BytesIO(data), member, depth + 1)
            else:
                yield RawItem(member, data, fmt)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # Read in chunks and stop at the declared size: a forged header cannot make us
    # expand more than it admits.
    out = bytearray()
    with zf.open(info) as member:
        while chunk := member.read(1 << 20):
            out += chunk
            if len(out) > info.file_size or len(out) > MAX_ITEM_BYTES:
                raise ValueError("member expands past its declared size")
    return bytes(out)


def _zip_mailbox(outer: str, name: str) -> str:
    parent = "/".join(p for p in name.split("/")[:-1] if p not in ("cur", "new", "tmp"))
    return "/".join(p for p in (outer, parent) if p)


#: Container formats: ``(file object, provenance, depth) -> items``. Later issues add
#: their own (Outlook CSV rows, XLSX rows, printed documents).
CONTAINERS: dict[str, Callable[[BinaryIO, Provenance, int], Iterator[Item]]] = {
    "mbox": split_mbox,
    "zip": read_zip,
}
