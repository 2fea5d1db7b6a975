"""Write the demo release to disk, one message at a time: mbox, eml tree, manifest, ground truth.

Story mail (a few hundred messages, held in memory) is merged by date with the background
stream, so memory stays flat whatever ``scale`` is. Each copy is written as soon as it is
rendered; the manifest line for it follows immediately.
"""

from __future__ import annotations

import filecmp
import hashlib
import heapq
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from .mail import Mail, iso
from .noise import Background
from .render import MALFORMED, asctime, render
from .story import Story, build_story
from .truth import ground_truth

MBOX_FILE = "mbox/metropd-release.mbox"
#: With both formats, these mailboxes (and every ``personal`` webmail folder) go to the mbox.
MBOX_CUSTODIANS = frozenset({"whitcomb-h", "sato-e", "press-office", "cod-office"})
#: This custodian's eml files were exported on Windows: CRLF line endings.
CRLF_CUSTODIANS = frozenset({"delgado-f"})
FORMATS = ("mbox", "eml")
_FROM_LINE = re.compile(rb"^(>*From )", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What :func:`write_demo` wrote."""

    out: Path
    seed: int
    scale: int
    formats: tuple[str, ...]
    messages: int  # logical messages (one per Message-ID, or per message without one)
    story_messages: int
    background_messages: int
    copies: int  # files in the eml tree plus entries in the mbox
    ground_truth: Path
    manifest: Path
    mbox: Path | None
    eml_root: Path | None


@dataclass(slots=True)
class _Tally:
    """Counters and the bounded facts ground truth needs (story copies, malformed, names seen)."""

    messages: int = 0
    story: int = 0
    background: int = 0
    copies: int = 0
    without_id: int = 0
    by_format: dict[str, int] = field(default_factory=lambda: {"mbox": 0, "eml": 0})
    copies_of: dict[str, list[dict[str, object]]] = field(default_factory=dict)  # story and malformed mail only
    malformed: list[tuple[Mail, str]] = field(default_factory=list)
    displays: dict[str, set[str]] = field(default_factory=dict)
    addresses: dict[str, set[str]] = field(default_factory=dict)


class _Sinks:
    """Open output files and the per-folder counters of the eml tree."""

    def __init__(self, out: Path, formats: tuple[str, ...]) -> None:
        self.out = out
        self.root = str(out)
        self.formats = formats
        self.mbox: BinaryIO | None = None
        if "mbox" in formats:
            (out / "mbox").mkdir(parents=True, exist_ok=True)
            # Written beside the old one, which it replaces only if it differs (_keep_or_replace).
            self.mbox = open(out / (MBOX_FILE + _NEW), "wb", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        self.offset = 0
        self.folders: dict[tuple[str, str], int] = {}
        self.written: set[str] = set()  # the eml files of this run, so those of an earlier one can go
        self.manifest: TextIO = open(out / "manifest.tsv", "w", encoding="utf-8", newline="\n", buffering=1 << 20)  # noqa: SIM115
        self.manifest.write("key\tmessage_id\tdate\tkind\tfile\toffset\tsha256\tflags\n")

    def target(self, custodian: str, folder: str) -> str:
        """Which format holds this mailbox folder (see the package docstring)."""
        if len(self.formats) == 1:
            return self.formats[0]
        return "mbox" if custodian in MBOX_CUSTODIANS or folder == "personal" else "eml"

    def write(self, mail: Mail, data: bytes, custodian: str, folder: str) -> dict[str, object]:
        """Write one copy; return where it went."""
        if self.target(custodian, folder) == "mbox":
            assert self.mbox is not None
            sha = hashlib.sha256(data).hexdigest()
            sender = mail.sender.address or "MAILER-DAEMON"
            chunk = b"From " + sender.encode("ascii") + b" " + asctime(mail.when).encode("ascii") + b"\n" + _FROM_LINE.sub(rb">\1", data) + b"\n"
            where: dict[str, object] = {"file": MBOX_FILE, "offset": self.offset, "custodian": custodian, "folder": folder, "sha256": sha}
            self.mbox.write(chunk)
            self.offset += len(chunk)
            return where
        n = self.folders.get((custodian, folder), 0) + 1
        self.folders[(custodian, folder)] = n
        name = f"eml/{custodian}/{folder}/{n}.eml"
        if n == 1:
            (self.out / "eml" / custodian / folder).mkdir(parents=True, exist_ok=True)
        if custodian in CRLF_CUSTODIANS:
            data = data.replace(b"\n", b"\r\n")
        path = f"{self.root}/{name}"
        _write_file(path, data)
        self.written.add(path)
        return {"file": name, "custodian": custodian, "folder": folder, "sha256": hashlib.sha256(data).hexdigest()}

    def close(self, complete: bool) -> None:
        """Flush and close. A complete new mbox replaces the old one if it differs; an incomplete one goes."""
        if self.mbox is not None:
            self.mbox.close()
            if complete:
                _keep_or_replace(self.out / MBOX_FILE)
            else:
                (self.out / (MBOX_FILE + _NEW)).unlink(missing_ok=True)
        self.manifest.close()

    def drop_earlier(self) -> None:
        """Remove the eml files an earlier demo wrote here and this one did not (another seed or scale)."""
        root = self.out / "eml"
        if not root.is_dir():
            return
        for dirpath, _dirs, files in os.walk(root, topdown=False):
            for name in files:
                path = f"{dirpath}/{name}"
                if path not in self.written:
                    os.unlink(path)
            if dirpath != str(root) and not os.listdir(dirpath):
                os.rmdir(dirpath)


#: The suffix of an mbox being written beside the one an earlier run left.
_NEW = ".new"


def _write_file(path: str, data: bytes) -> None:
    """Write one file with os-level calls (pathlib costs more than the write itself here).

    A file already holding exactly these bytes (the same demo written again) is left as it
    is, time included, so that ingesting it again finds nothing changed.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        pass
    else:
        try:
            same = os.fstat(fd).st_size == len(data) and os.read(fd, len(data) + 1) == data
        finally:
            os.close(fd)
        if same:
            return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _keep_or_replace(path: Path) -> None:
    """Put the file written at ``path`` + :data:`_NEW` in place, unless ``path`` holds the same bytes."""
    new = path.with_name(path.name + _NEW)
    if path.is_file() and path.stat().st_size == new.stat().st_size and filecmp.cmp(path, new, shallow=False):
        new.unlink()
    else:
        new.replace(path)


def _prepare(out: Path, formats: tuple[str, ...]) -> None:
    """Create ``out``; make way for a new demo where an earlier one was, but never touch anything else.

    The files of an earlier demo stay while this one is written: those it writes again with
    the same bytes keep their times (:func:`_write_file`), the rest are replaced or removed.
    A format this run does not write is removed whole.
    """
    out.mkdir(parents=True, exist_ok=True)
    ours = ("eml", "mbox", "manifest.tsv", "ground_truth.json")
    if any((out / name).exists() for name in ours):
        if not (out / "ground_truth.json").exists():
            raise FileExistsError(f"{out} already holds eml/, mbox/ or manifest.tsv that a demo run did not write; choose an empty directory")
        for fmt in FORMATS:
            if fmt not in formats and (out / fmt).is_dir():
                shutil.rmtree(out / fmt)


def write_demo(out: Path, seed: int = 7, scale: int = 1, formats: tuple[str, ...] = FORMATS, progress: Callable[[int], None] | None = None) -> DemoSummary:
    """Write the demo case under ``out`` and return what was written.

    ``progress`` is called with the number of messages written since its previous call
    (ready for ``click.progressbar``'s ``update``); :func:`count_messages` gives the total.

    >>> summary = write_demo(Path("/tmp/demo"), seed=7)  # doctest: +SKIP
    >>> summary.messages  # doctest: +SKIP
    2897
    """
    out = Path(out)
    if scale < 1:
        raise ValueError("scale must be at least 1")
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"formats must be a non-empty selection of {FORMATS}, got {formats!r}")
    formats = tuple(f for f in FORMATS if f in formats)
    _prepare(out, formats)
    story = build_story(seed)
    tally = _Tally()
    sinks = _Sinks(out, formats)
    complete = False
    try:
        pending = 0
        for mail in _merged(story, Background(seed, scale)):
            _write_one(mail, sinks, tally)
            pending += 1
            if progress is not None and pending == 500:
                progress(pending)
                pending = 0
        if progress is not None and pending:
            progress(pending)
        complete = True
    finally:
        sinks.close(complete)
    sinks.drop_earlier()
    truth = ground_truth(story, seed, scale, formats, tally)
    truth_path = out / "ground_truth.json"
    truth_path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoSummary(
        out,
        seed,
        scale,
        formats,
        tally.messages,
        tally.story,
        tally.background,
        tally.copies,
        truth_path,
        out / "manifest.tsv",
        out / MBOX_FILE if "mbox" in formats else None,
        out / "eml" if "eml" in formats else None,
    )


def _merged(story: Story, background: Iterable[Mail]) -> Iterator[Mail]:
    """Story and background mail in one date-ordered stream (both inputs are already sorted)."""
    return heapq.merge(story.mails, background, key=lambda m: m.when)


def _write_one(mail: Mail, sinks: _Sinks, tally: _Tally) -> None:
    """Render a message, write each copy, log it in the manifest and the tally."""
    is_story = mail.key.startswith("s")
    data = render(mail)
    sender_data = render(mail, with_bcc=True) if mail.bcc and mail.sender_copy else data
    keep = is_story or mail.malformed is not None
    places = []
    date = iso(mail.when)
    flags = ",".join(f for f in (f"malformed:{mail.malformed}" if mail.malformed else "", "" if mail.message_id else "no-message-id") if f) or "-"
    for i, (custodian, folder) in enumerate(mail.holders):
        copy = sender_data if i == 0 and mail.sender_copy else data
        where = sinks.write(mail, copy, custodian, folder)
        copy_flags = flags if copy is data else ("with-bcc" if flags == "-" else flags + ",with-bcc")
        tally.by_format[sinks.target(custodian, folder)] += 1
        sinks.manifest.write(
            f"{mail.key}\t{mail.message_id or '-'}\t{date}\t{'story' if is_story else 'background'}\t"
            f"{where['file']}\t{where.get('offset', '-')}\t{where['sha256']}\t{copy_flags}\n"
        )
        if keep:
            places.append(where)
    if keep:
        tally.copies_of[mail.key] = places
    if mail.malformed:
        tally.malformed.append((mail, MALFORMED[mail.malformed]))
    tally.messages += 1
    tally.copies += len(mail.holders)
    if is_story:
        tally.story += 1
    else:
        tally.background += 1
    if not mail.message_id:
        tally.without_id += 1
    for party in (mail.sender, *mail.to, *mail.cc, *mail.bcc):
        if party.person is not None:
            tally.addresses.setdefault(party.person, set()).add(party.address.lower())
            if party.display:
                tally.displays.setdefault(party.person, set()).add(party.display)
