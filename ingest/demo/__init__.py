"""A fictional released mailbox with exact ground truth, for demos, tests and benchmarks.

The case: a face-recognition vendor (VisageID, ``visageid.example``) gives free trial
accounts to officers of the Metro City Police Department (``metropd.example``), late 2018 to
early 2020. Officers invite colleagues, forward sign-up links, ask the vendor for accounts for
their squads; a federal task-force officer gets one opened for a deputy commissioner; fifty
members end up with accounts while the press office says the department has "no
relationship" with the vendor. Around the story: ordinary police mail. Everyone is fictional
and every domain is under ``.example``.

Usage::

    from ingest.demo import write_demo
    summary = write_demo(Path("demo-data"), seed=7, scale=1)

Output layout under ``out``:

``eml/<custodian>/<folder>/<n>.eml``
    One released mailbox per custodian (``roe-j``, ``brennan-tj``, ``press-office``, …), folders
    ``inbox``, ``sent_items``, ``visageid`` (Det. Roe filed vendor mail there) and ``personal``
    (mail from personal webmail accounts turned over by the officer). ``n`` counts from 1 in date
    order. A message sent between two custodians is in both mailboxes: same Message-ID, two files
    (the sender's copy alone carries Bcc). ``delgado-f`` was exported on Windows: CRLF endings.
``mbox/metropd-release.mbox``
    One mboxrd file (``From `` separator lines, ``>From `` escaping of body lines).
``manifest.tsv``
    One line per copy: key, Message-ID, UTC date, story/background, file, mbox offset, sha256,
    flags (``malformed:<kind>``, ``no-message-id``, ``with-bcc`` on the sender's copy). Streams, so it is complete at any scale.
``ground_truth.json``
    Organizations, people (addresses and display names seen), accounts, invitations, events,
    message counts, malformed messages, correct merges and traps (``must_not_merge``), and every
    story message with its files. See :mod:`ingest.demo.truth`.

How copies are split between the formats: with a single format, every copy goes there. With
both (the default) the mbox holds the mailboxes produced separately - the deputy
commissioner's office (``whitcomb-h``, ``sato-e``), ``press-office``, ``cod-office`` and every
``personal`` webmail folder - and the eml tree holds all other custodians. Extraction must read
both to see the whole story (the task-force officer's request sits only in the mbox).

``scale`` multiplies the background mail (2,400 messages per unit); the story (about 500
messages) is byte-identical at every scale. Same seed, same bytes.
"""

from __future__ import annotations

from . import noise
from .story import build_story
from .writer import FORMATS, DemoSummary, write_demo

__all__ = ["write_demo", "DemoSummary", "count_messages", "FORMATS"]


def count_messages(seed: int = 7, scale: int = 1) -> int:
    """How many logical messages ``write_demo(seed=seed, scale=scale)`` will write (for a progress bar)."""
    return len(build_story(seed).mails) + noise.count(scale)
