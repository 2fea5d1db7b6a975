"""MIME benchmark: multipart mail read by the standard library's walk (``ingest.mime``) against mail-parser.

Usage (from the project root)::

    .venv/bin/python bench/mime.py                          # parsing alone, in this process
    .venv/bin/python bench/mime.py --against /tmp/old       # and whole ingests, against another checkout

A modern release is mostly multipart: a plain and an HTML body, often a PDF attached. The
Enron slice has none, so this writes one from it (``bench/out/modern.mbox``, generated once):
the first ``--messages`` messages of the slice, each re-sent as a mail client sends it today
(``multipart/alternative``: the text as it was, and an HTML rendering of it, quoted-printable),
every fifth also with a PDF of 20 KB attached (``multipart/mixed``). With ``--forward-every N``
(``bench/out/modern-<messages>-fwdN.mbox``), every Nth message also forwards the one before it
as an attachment (``message/rfc822``), as "Forward as attachment" does.

It then times, in one process and in alternating rounds (this machine's speed drifts):

- ``parse_rfc822`` as the ingest runs it (the MIME path, mail-parser for what it declines);
- the same with the MIME path declining everything, so mail-parser reads every message (the
  code before the MIME path);
- the bare mail-parser loop of ``bench/ingest.py`` (``parse_from_bytes`` and the main fields);

and prints CPU seconds, messages/s and the ratios. Then it runs emailnetwork 0.0.2 on the
mbox (as ``bench/ingest.py`` runs it on the slice) and ``threadline ingest`` of it,
alternating, and prints wall time, CPU, peak RSS and the ratios; with ``--against DIR``
(``git worktree add DIR <commit>``, a commit from before the MIME path: ``e89771a``) it
runs DIR's ``threadline ingest`` in turn too.
"""

from __future__ import annotations

import argparse
import binascii
import html
import importlib.util
import logging
import random
import statistics
import sys
import time
from pathlib import Path

import mailparser

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from measure import remove_store, run  # noqa: E402

from ingest import parse  # noqa: E402  (the package; bench/ingest.py is loaded by its path below)
from ingest.records import RawItem  # noqa: E402
from ingest.sources import find_sources, read_source  # noqa: E402

_spec = importlib.util.spec_from_file_location("ingest_bench", Path(__file__).resolve().parent / "ingest.py")
assert _spec and _spec.loader
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
OUT, prepare = _bench.OUT, _bench.prepare

logging.getLogger("mailparser").setLevel(logging.ERROR)
ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
#: Headers the re-sent message replaces with its own MIME headers.
_MIME_HEADERS = (b"mime-version", b"content-type", b"content-transfer-encoding")


def _modern(raw: bytes, n: int, pdf: bytes, forward: bytes | None = None) -> bytes:
    """One Enron message re-sent as a mail client sends it today; ``forward``, a message
    it forwards as an attachment (``message/rfc822``)."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    lines: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and lines and lines[-1] is None:
            continue  # a folded line of a header dropped below
        name = line.split(b":", 1)[0].strip().lower()
        lines.append(None if name in _MIME_HEADERS else line)  # type: ignore[arg-type]
    kept = b"\n".join(line for line in lines if line is not None)
    text = body.decode("latin-1")
    markup = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n")) + "</body></html>"
    alt = (
        f'Content-Type: multipart/alternative; boundary="alt-{n}"\n\n'
        f"--alt-{n}\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
    ).encode() + body.rstrip(b"\n") + (
        f"\n--alt-{n}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
    ).encode() + binascii.b2a_qp(markup.encode("utf-8")) + f"\n--alt-{n}--\n".encode()
    attached: list[bytes] = []
    if n % 5 == 0:
        encoded = binascii.b2a_base64(pdf, newline=False)
        attached.append(
            f'Content-Type: application/pdf; name="memo-{n}.pdf"\n'.encode()
            + f'Content-Disposition: attachment; filename="memo-{n}.pdf"\nContent-Transfer-Encoding: base64\n\n'.encode()
            + b"\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
            + b"\n"
        )
    if forward is not None:
        attached.append(f'Content-Type: message/rfc822\nContent-Disposition: attachment; filename="forwarded-{n}.eml"\n\n'.encode() + forward)
    if not attached:
        return kept + b"\nMIME-Version: 1.0\n" + alt
    mixed = f'\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="mix-{n}"\n\n--mix-{n}\n'.encode() + alt
    return kept + mixed + b"".join(f"--mix-{n}\n".encode() + part for part in attached) + f"--mix-{n}--\n".encode()


def write_modern(out: Path, messages: int, forward_every: int = 0) -> Path:
    """Write (once) the first ``messages`` of the Enron slice re-sent as multipart mail, as
    one mbox; with ``forward_every`` N, every Nth also forwards the message before it."""
    mbox = out / (f"modern-{messages}.mbox" if not forward_every else f"modern-{messages}-fwd{forward_every}.mbox")
    if mbox.exists():
        return mbox
    maildir, _, _ = prepare(out)
    rng = random.Random(7)
    pdf = b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(20_000))
    files = sorted(p for p in maildir.rglob("*") if p.is_file())[:messages]
    print(f"writing {len(files):,} messages re-sent as multipart mail to {mbox} …", file=sys.stderr)
    part = mbox.with_suffix(".part")
    before = None
    with open(part, "wb") as fh:
        for n, path in enumerate(files):
            raw = path.read_bytes()
            modern = _modern(raw, n, pdf)
            if forward_every and before is not None and n % forward_every == forward_every - 1:
                fh.write(_bench.mbox_entry(_modern(raw, n, pdf, forward=before)))
            else:
                fh.write(_bench.mbox_entry(modern))
            before = modern
    part.rename(mbox)
    return mbox


def _items(mbox: Path) -> list[RawItem]:
    items: list[RawItem] = []
    for source in find_sources([mbox]):
        items.extend(i for i in read_source(source) if isinstance(i, RawItem))
    return items


def _threadline(items: list[RawItem]) -> float:
    started = time.process_time()
    for item in items:
        parse.parse_rfc822(item)
    return time.process_time() - started


def _mailparser_only(items: list[RawItem]) -> float:
    real = parse.mime_fields
    parse.mime_fields = lambda _msg: None
    try:
        return _threadline(items)
    finally:
        parse.mime_fields = real


def _bare_loop(items: list[RawItem]) -> float:
    started = time.process_time()
    for item in items:
        m = mailparser.parse_from_bytes(item.data)
        _ = (m.from_, m.to, m.cc, m.subject, m.date, m.message_id, m.body)
    return time.process_time() - started


def compare_parsing(items: list[RawItem], rounds: int) -> None:
    from email import message_from_bytes

    from ingest.headers import fast_fields
    from ingest.mime import mime_fields

    taken = sum(fast_fields(i.data) is None and mime_fields(message_from_bytes(i.data)) is not None for i in items)
    arms = {
        "threadline, MIME path": _threadline,
        "threadline, mail-parser for all": _mailparser_only,
        "bare mail-parser loop": _bare_loop,
    }
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(rounds):
        for name, arm in arms.items():
            seconds[name].append(arm(items))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    base, loop = medians["threadline, mail-parser for all"], medians["bare mail-parser loop"]
    print(f"Parsing alone, one process, {len(items):,} messages ({taken:,} taken by the MIME path), CPU medians of {rounds}:")
    print(f"{'':<34} {'CPU':>8} {'rate':>16}   {'vs mail-parser for all':>22} {'vs bare loop':>13}")
    for name, value in medians.items():
        print(f"{name:<34} {value:7.2f}s {len(items) / value:10,.0f} msg/s   {value / base:21.2f}× {value / loop:12.2f}×")


def compare_ingest(mbox: Path, n: int, against: Path | None, runs: int) -> None:
    """``threadline ingest`` of the mbox (this checkout, and ``against`` when given) and
    emailnetwork reading it, alternating."""
    arms: dict[str, list[str]] = {"emailnetwork 0.0.2": [PY, "-c", _bench.EMAILNETWORK, str(mbox)]}
    codes = {"threadline ingest": ROOT, **({f"threadline at {against.name}": against} if against else {})}
    found: dict[str, list] = {name: [] for name in [*arms, *codes]}
    for _ in range(runs):
        for name, cmd in arms.items():
            found[name].append(run(cmd))
        for name, code in codes.items():
            db = OUT / f"modern-{code.name}.db"
            remove_store(db)
            m = run([PY, "-m", "threadline.cli", "ingest", str(mbox), "--db", str(db), "--quiet"], cwd=code)
            remove_store(db)
            if m.returncode != 0:
                sys.exit(f"threadline ingest failed in {code}:\n{m.stdout[-2000:]}")
            found[name].append(m)
    walls = {name: statistics.median(m.seconds for m in ms) for name, ms in found.items()}
    base = walls["emailnetwork 0.0.2"]
    print(f"\n{mbox.name} ({n:,} messages; threadline with 2 workers), medians of {runs}, alternating:")
    print(f"{'':<28} {'wall':>8} {'rate':>16} {'peak RSS':>10} {'CPU':>8}   {'vs emailnetwork':>15}")
    for name, ms in found.items():
        cpu = statistics.median(m.cpu for m in ms)
        peak = max(m.peak_mb for m in ms)
        each = ", ".join(f"{m.seconds:.1f}" for m in ms)
        print(f"{name:<28} {walls[name]:7.1f}s {n / walls[name]:10,.0f} msg/s {peak:8.0f} MB {cpu:7.1f}s   {walls[name] / base:14.2f}×   (each: {each} s)")
    if against:
        print(f"threadline: {walls['threadline ingest'] / walls[f'threadline at {against.name}']:.2f}× the wall time of {against.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000, help="how many of the slice's messages to re-send as multipart mail")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the parsing comparison")
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout to time whole ingests against")
    parser.add_argument("--runs", type=int, default=2, help="ingests of each checkout, and emailnetwork runs")
    parser.add_argument("--forward-every", type=int, default=0, metavar="N", help="every Nth message also forwards the one before it as an attachment (message/rfc822)")
    args = parser.parse_args()
    mbox = write_modern(OUT, args.messages, args.forward_every)
    items = _items(mbox)
    compare_parsing(items, args.rounds)
    compare_ingest(mbox, len(items), args.against.resolve() if args.against else None, args.runs)


if __name__ == "__main__":
    main()
