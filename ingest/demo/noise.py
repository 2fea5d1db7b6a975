"""Background mail: the ordinary traffic a released mailbox is mostly made of.

Meetings, court dates, overtime, IT notices, the commissioner's bulletin, subpoena returns,
replies and forwards of all of these - generated one message at a time in date order, so any
``--scale`` streams to disk in bounded memory. Nothing here mentions the vendor; a few
messages are traps for naive rules: calendar mail saying "has invited you", an IT notice
about passwords, another software vendor's trial and invitation mail.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from .builder import holders
from .cast import AGENCY, BY_KEY, Person
from .mail import Mail, Party, ny_to_utc
from .pool import BY_PID, EVERYONE
from .texts import BACKGROUND_ATTACHMENTS, FOOTER, outlook_quote, reply_quote, signature

PER_SCALE = 2400  # background messages per unit of --scale
START, END = date(2018, 9, 1), date(2020, 3, 31)
#: Positions (1-based, in date order) of background messages damaged on purpose; fixed for every scale.
MALFORMED_AT = {88: "broken_header", 211: "bad_date", 503: "broken_header", 977: "truncated_mime", 1301: "no_boundary", 1650: "bad_date"}

_SUBJECTS = (
    "Complaint #{cmp}",
    "OT {md}",
    "Tour change {md}",
    "Vehicle {veh}",
    "Lunch?",
    "Court {md}",
    "Canvass results - #{cmp}",
    "DD5 for #{cmp}",
    "Roster",
    "Search warrant - #{cmp}",
    "Retirement party for {friend}",
    "Leave request",
    "Fantasy football",
    "Re-interview of witness",
    "Arrest #{arr}",
    "Evidence voucher {vch}",
    "Case status",
    "Training slots",
    "CompStat prep",
    "Radio repair",
    "Subpoena for #{cmp}",
    "Overtime cap",
    "Desk coverage {md}",
    "Photo array - #{cmp}",
)
_LINES = (
    "Can you take a look at #{cmp} when you get a chance?",
    "I'll be out {md}, {friend} is covering.",
    "OT approved for the {md} tour, 1600x2400.",
    "Vehicle {veh} is back from the shop.",
    "Witness is available after 1400 on {md}.",
    "The DA wants the file by {md}.",
    "Lunch at the Greek place? 1230.",
    "Canvass came back negative on the 3rd floor.",
    "Please update the DD5 before the end of tour.",
    "Roll call moved to 0700 on {md}.",
    "Did the voucher for {vch} get signed?",
    "Subject was arraigned this morning, bail set at $5,000.",
    "Sending the photo array over now.",
    "Who has the keys to {veh}?",
    "Reminder: CompStat is Thursday, have your numbers ready.",
    "Retirement party for {friend} is on the {md}, $40 a head.",
    "Sgt says no more OT this pay period.",
    "From the video it looks like two of them, not three.",
    "Complainant called again about #{cmp}. Can someone call her back?",
    "Court is adjourned to {md}.",
)
_IT = (
    ("Scheduled maintenance: CJIS gateway", "The CJIS gateway will be unavailable on {md} from 0100 to 0400 for scheduled maintenance."),
    (
        "Your password will expire in 5 days",
        "Your network password will expire in 5 days. Press Ctrl+Alt+Del and choose Change a password. IT will never ask you for your password by email.",
    ),
    ("Phishing warning", "Members have received emails asking them to verify their mailbox. Do not click the link. Report it to the Service Desk."),
    ("Ticket INC{num} resolved", "Your ticket INC{num} (printer on the 3rd floor) has been resolved. Reply within 5 days to reopen it."),
    ("Mobile device upgrade", "Department phones will be replaced starting {md}. Back up your contacts."),
)
_BULLETIN = (
    "Promotions and assignments",
    "Department honors for the month",
    "Road closures this weekend",
    "Blood drive at headquarters",
    "New uniform regulations",
    "Holiday tour schedule",
)
_TRAINING = ("Mandatory in-service training - {md}", "De-escalation course - seats available", "Firearms requalification window")
_DA = ("People v. [REDACTED] - {dock}", "Grand jury - {dock}", "Trial prep {md}", "Discovery request - {dock}")
_COURT = ("Appearance notice - {dock}", "Adjournment - {dock}")
_CASETRACK = (
    ("Your CaseTrack trial ends in 3 days", "Your free trial of CaseTrack ends in 3 days. Upgrade now to keep your case files."),
    (
        "{friend} has invited you to CaseTrack",
        "{friend} has invited you to join their team on CaseTrack, the case management app. Accept: https://casetrack.example/join",
    ),
    ("Welcome to CaseTrack", "Welcome! Your CaseTrack account is ready. Username: your email address."),
)


def count(scale: int) -> int:
    """How many background messages ``scale`` produces."""
    return PER_SCALE * scale


def _quotas(total: int) -> list[tuple[date, int]]:
    """Spread ``total`` messages over the days, weekdays busier, by largest remainder (no randomness)."""
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    weights = [1.0 if d.weekday() < 5 else 0.25 for d in days]
    unit = total / sum(weights)
    raw = [w * unit for w in weights]
    base = [int(r) for r in raw]
    short = total - sum(base)
    for i in sorted(range(len(days)), key=lambda i: (base[i] - raw[i], i))[:short]:
        base[i] += 1
    return list(zip(days, base, strict=True))


class Background:
    """A stream of background :class:`Mail`, in date order, for one seed and scale."""

    def __init__(self, seed: int, scale: int) -> None:
        self.rng = random.Random(f"threadline-demo:{seed}:background:{scale}")
        self.scale = scale
        people = [p for p in EVERYONE if p.kind == "person"]
        self.agency = [p for p in people if p.org == AGENCY]
        self.by_unit: dict[str, list[Person]] = {}
        for p in self.agency:
            self.by_unit.setdefault(p.unit or "", []).append(p)
        self.owners = [p for p in self.agency if p.custodian]
        weights = [4 if p.key in ("roe", "nguyen", "delgado", "sato", "whitcomb", "brennan_tj", "reyes") else 1 for p in self.owners]
        self.owner_cum = list(itertools.accumulate(weights))
        self.external = {d: [p for p in people if p.org == d] for d in ("metroda.example", "courts.example", "metrounion.example", "firstharbor.example")}
        self.parties = {p.pid: [Party(p.work, d, p.pid) for d in p.displays[0]] for p in EVERYONE}
        self.recent: deque[Mail] = deque(maxlen=300)  # bounded memory for replies and forwards
        self.random = self.rng.random  # randrange costs ~1 us a call; the generator calls it a lot
        self._filler = _Filler(self)

    def __iter__(self) -> Iterator[Mail]:
        n = 0
        rand = self.random
        for day, quota in _quotas(count(self.scale)):
            midnight = ny_to_utc(day, 12, 0) - timedelta(hours=12)
            for seconds in sorted(int(6 * 3600 + rand() * 16 * 3600) for _ in range(quota)):
                n += 1
                mail = self._one(n, midnight + timedelta(seconds=seconds))
                mail.malformed = MALFORMED_AT.get(n)
                if mail.malformed in ("truncated_mime", "no_boundary") and not mail.attachments:
                    mail.attachments = (BACKGROUND_ATTACHMENTS[n % 10],)
                if rand() >= 0.008:  # a few messages lost their Message-ID in export
                    mail.message_id = self._message_id(mail, n)
                mail.holders, mail.sender_copy = holders(mail)
                self.recent.append(mail)
                yield mail

    # -- helpers ------------------------------------------------------------------------
    def _p(self, person: Person) -> Party:
        """A header entry with one of the person's display names."""
        options = self.parties[person.pid]
        return options[0] if self.rng.random() < 0.5 else self.rng.choice(options)

    def _fill(self, template: str) -> str:
        """Fill case numbers, dates and names into a template (only the placeholders it has)."""
        return template.format_map(self._filler)

    def _int(self, low: int, high: int) -> int:
        """A random integer in [low, high)."""
        return low + int(self.random() * (high - low))

    def _colleague(self, owner: Person) -> Person:
        """Someone the owner writes to: usually their own unit."""
        pool = self.by_unit.get(owner.unit or "", [])
        choice = self.rng.choice(pool) if pool and self.rng.random() < 0.55 else self.rng.choice(self.agency)
        return choice if choice is not owner else self.rng.choice(self.agency)

    def _message_id(self, mail: Mail, n: int) -> str:
        """A Message-ID in the sender's style; ``n`` makes it unique."""
        r = self.rng.getrandbits(64)
        domain = mail.sender.address.rsplit("@", 1)[1]
        if domain == AGENCY:
            return f"<{r:016X}{n:07X}@MCPDEXCH0{n % 4 + 1}.{domain}>"
        return f"<{r:016x}.{n}@mail.{domain}>"

    # -- families -------------------------------------------------------------------------
    def _one(self, n: int, when: datetime) -> Mail:
        """One background message of a randomly chosen kind."""
        r = self.rng.random()
        owner = self.rng.choices(self.owners, cum_weights=self.owner_cum)[0]
        key = f"b{n:07d}"
        if r < 0.14 and self.recent:
            return self._reply(key, when)
        if r < 0.17 and self.recent:
            return self._forward(key, when, owner)
        if r < 0.25:
            return self._service(key, when, owner)
        if r < 0.33:
            return self._outside(key, when, owner)
        if r < 0.38:
            return self._meeting(key, when, owner)
        if r < 0.395:
            subject, body = self.rng.choice(_CASETRACK)
            return Mail(key, when, self._p(BY_KEY["casetrack"]), (self._p(owner),), self._fill(subject), self._fill(body), clock="utc", client="plain")
        return self._chat(key, when, owner)

    def _chat(self, key: str, when: datetime, owner: Person) -> Mail:
        """Colleagues writing about cases, overtime, court and lunch."""
        rng = self.rng
        other = self._colleague(owner)
        sender, recipient = (owner, other) if rng.random() < 0.4 else (other, owner)
        cc = (self._p(self._colleague(owner)),) if rng.random() < 0.25 else ()
        lines = " ".join(self._fill(rng.choice(_LINES)) for _ in range(rng.randrange(1, 4)))
        mobile = "iphone" if rng.random() < 0.1 else ("blackberry" if sender.key == "brennan_tj" else None)
        text = lines + signature(sender, rng, mobile) + (FOOTER if mobile is None and rng.random() < 0.3 else "")
        att = (rng.choice(BACKGROUND_ATTACHMENTS),) if rng.random() < 0.06 else ()
        clock = "ny_name" if sender.key == "brennan_tj" else ("utc" if rng.random() < 0.15 else "ny")
        return Mail(
            key,
            when,
            self._p(sender),
            (self._p(recipient),),
            self._fill(rng.choice(_SUBJECTS)),
            text,
            cc=cc,
            attachments=att,
            clock=clock,
            client=mobile or "outlook",
        )

    def _reply(self, key: str, when: datetime) -> Mail:
        """A reply to a recent message, quoting it Outlook- or webmail-style."""
        rng = self.rng
        parent = rng.choice(self.recent)
        target = parent.to[0] if parent.to else parent.sender
        if target.person is None or parent.text is None:
            return self._chat(key, when, rng.choice(self.owners))
        lines = self._fill(rng.choice(_LINES))
        person = BY_PID[target.person]
        quote = (
            outlook_quote(parent.sender, parent.to, parent.cc, parent.when, parent.subject, parent.text)
            if rng.random() < 0.6
            else reply_quote(parent.sender, parent.when, parent.text)
        )
        subject = parent.subject if parent.subject.startswith("RE: ") else "RE: " + parent.subject
        mail = Mail(
            key,
            when,
            target,
            (parent.sender,),
            subject,
            lines + signature(person, rng) + quote,
            cc=parent.cc,
            clock="ny" if person.org == AGENCY else "utc",
            client="outlook" if person.org == AGENCY else "plain",
        )
        mail.in_reply_to = parent.message_id
        mail.references = (parent.references + ((parent.message_id,) if parent.message_id else ()))[-5:]
        return mail

    def _forward(self, key: str, when: datetime, owner: Person) -> Mail:
        """An officer forwarding something recent to a colleague."""
        rng = self.rng
        parent = rng.choice(self.recent)
        other = self._colleague(owner)
        body = (
            ("FYI" if rng.random() < 0.5 else "See below.")
            + signature(owner, rng)
            + outlook_quote(parent.sender, parent.to, parent.cc, parent.when, parent.subject, parent.text or "", redact=rng.random() < 0.1)
        )
        return Mail(key, when, self._p(owner), (self._p(other),), "FW: " + parent.subject, body, attachments=parent.attachments[:1])

    def _service(self, key: str, when: datetime, owner: Person) -> Mail:
        """IT notices, the bulletin (HTML only) and training announcements."""
        rng = self.rng
        pick = rng.random()
        if pick < 0.45:
            subject, body = rng.choice(_IT)
            text = self._fill(body) + "\n\nIT Service Desk\nInformation Technology Bureau\nx4357"
            html = f"<html><body><p>{text.replace(chr(10), '<br>')}</p></body></html>" if rng.random() < 0.5 else None
            return Mail(key, when, self._p(BY_KEY["helpdesk"]), (self._p(owner),), self._fill(subject), text, html=html)
        if pick < 0.75:
            title = rng.choice(_BULLETIN)
            html = (
                f"<html><head><title>Commissioner's Bulletin</title></head><body><h1>{title}</h1>"
                f"<p>{self._fill(rng.choice(_LINES))}</p><p>Issued by the Office of the Police Commissioner.</p></body></html>"
            )
            return Mail(key, when, self._p(BY_KEY["bulletin"]), (self._p(owner),), f"Commissioner's Bulletin: {title}", None, html=html)
        return Mail(
            key,
            when,
            self._p(BY_KEY["training"]),
            (self._p(owner),),
            self._fill(rng.choice(_TRAINING)),
            "Register in the learning portal. Attendance is mandatory for all uniformed members." + "\n\nTraining Bureau",
        )

    def _outside(self, key: str, when: datetime, owner: Person) -> Mail:
        """Prosecutors, court clerks, the union and a bank's subpoena desk."""
        rng = self.rng
        domain = rng.choice(("metroda.example", "metroda.example", "courts.example", "metrounion.example", "firstharbor.example"))
        other = rng.choice(self.external[domain])
        if domain == "metroda.example":
            subject = self._fill(rng.choice(_DA))
            text = self._fill("Det., can you come in on {md} to go over your testimony? Bring the DD5s and the voucher {vch}.")
        elif domain == "courts.example":
            subject = self._fill(rng.choice(_COURT))
            text = self._fill("You are scheduled to appear in Part 42 on {md} at 9:30 AM in {dock}. Failure to appear will be reported.")
        elif domain == "metrounion.example":
            subject, text = "Delegate meeting", self._fill("Delegates meeting moved to {md}. Contract update and the OT cap grievance.")
        else:
            subject = self._fill("Subpoena return - {dock}")
            text = "Attached are the records responsive to the subpoena. Please confirm receipt."
        att = (BACKGROUND_ATTACHMENTS[rng.randrange(10)],) if domain != "metrounion.example" and rng.random() < 0.4 else ()
        clock = "gmt" if domain == "courts.example" else "ny"
        incoming = rng.random() < 0.75
        sender, recipient = (other, owner) if incoming else (owner, other)
        body = text + signature(sender, rng) if incoming else self._fill(rng.choice(_LINES)) + signature(sender, rng)
        return Mail(
            key,
            when,
            self._p(sender),
            (self._p(recipient),),
            subject if incoming else "RE: " + subject,
            body,
            attachments=att,
            clock=clock if incoming else "ny",
            client="plain" if incoming else "outlook",
        )

    def _meeting(self, key: str, when: datetime, owner: Person) -> Mail:
        """Outlook meeting requests - "has invited you" that is not about the vendor."""
        rng = self.rng
        organizer = self._colleague(owner)
        title = rng.choice(("Squad meeting", "CompStat prep", "Case review", "Warrant planning", "Unit training"))
        rank = f"{organizer.rank} " if organizer.rank else ""
        text = (
            f"{rank}{organizer.name} has invited you to a meeting.\n\n{title}\nWhen: {self._fill('{md}')} 10:00 AM-11:00 AM (UTC-05:00) "
            f"Eastern Time (US & Canada)\nWhere: Conference Room {rng.randrange(100, 1200)}\n\n"
            "Accept | Tentative | Decline"
        )
        return Mail(key, when, self._p(organizer), (self._p(owner),), title, text, extra={"Content-Class": "urn:content-classes:calendarmessage"})


class _Filler(dict):  # type: ignore[type-arg]
    """Placeholder values made on demand: ``str.format_map`` asks only for those a template uses."""

    def __init__(self, background: Background) -> None:
        super().__init__()
        self.bg = background

    def __missing__(self, name: str) -> str:
        i = self.bg._int
        if name == "cmp":
            return f"2019-{i(1, 123):03d}-{i(0, 10000):05d}"
        if name == "md":
            return f"{i(1, 13)}/{i(1, 29)}"
        if name == "veh":
            return f"#{i(1000, 9999)}"
        if name == "arr":
            return f"M19{i(100000, 999999)}"
        if name == "vch":
            return f"V{i(1000000, 9999999)}"
        if name == "friend":
            return self.bg.agency[i(0, len(self.bg.agency))].name
        if name == "dock":
            return f"CR-2019-{i(0, 100000):06d}"
        if name == "num":
            return str(i(100000, 999999))
        raise KeyError(name)
