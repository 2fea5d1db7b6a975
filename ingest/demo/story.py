"""The plot of the demo case as data, and the script that turns it into story mail.

Modelled on reported facts of a face-recognition trial at a big-city police department
(late 2018 to early 2020): a vendor salesman gives one identity-theft detective a free
trial; she invites her squad; forwards and requests carry it to fraud, gang, precinct,
intelligence and real-time-crime units; a federal task-force officer gets an account opened
for a deputy commissioner; about fifty members end up with accounts while the department
tells a reporter it has "no relationship" with the vendor.

``INVITES`` is the cascade: who brought whom in, how, and how the vendor's mail names the
inviter. ``UNEXPLAINED`` lists adopters whose invitation is not in the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .builder import Builder, Event, Invitation
from .cast import BY_KEY, UNIT_SHORT
from .context import context_threads
from .mail import Mail, ny_to_utc
from .scenes import forward, offer, request, share
from .vendor import APP, CREDENTIALS, REQUESTED_WELCOMES, SYSTEM_INVITES, TRIAL_ENDING, TRIAL_EXTENDED, USAGE, WELCOMES, html_page

# date (New York), shape, inviter, invitees, options. For system invitations the option "as" is how
# the vendor's mail names the inviter - deliberately varied (rank, no rank, unit, email address).
INVITES: tuple[tuple[str, str, str, tuple[str, ...], dict[str, object]], ...] = (
    ("2018-10-23", "system_invite", "holloway", ("roe",), {"as": "Derek Holloway (VisageID)"}),
    ("2018-11-02", "request_for_colleagues", "roe", ("alvarez_m", "whitfield", "osei"), {"vendor": "holloway"}),
    ("2018-11-08", "system_invite", "roe", ("nguyen",), {"as": "Det. Jane Roe"}),
    ("2018-11-15", "forward", "roe", ("lin", "haddad"), {"webmail": True, "bcc": ("haddad",), "no_id": True}),
    ("2018-11-27", "system_invite", "nguyen", ("brooks",), {"as": "Patricia Nguyen (patricia.nguyen@metropd.example)"}),
    ("2018-12-04", "forward", "nguyen", ("delgado",), {}),
    ("2018-12-11", "system_invite", "lin", ("russo",), {"as": "Rebecca Lin"}),
    ("2018-12-12", "system_invite", "brooks", ("novak",), {"as": "Ashley Brooks"}),
    ("2018-12-18", "system_invite", "delgado", ("kowalski",), {"as": "Lt. Frank Delgado"}),
    ("2019-01-07", "forward", "whitfield", ("alvarez_l", "brennan_tr", "jackson", "vega"), {}),
    ("2019-01-22", "system_invite", "alvarez_l", ("ferraro",), {"as": "L. Alvarez (luis.alvarez@metropd.example)"}),
    ("2019-01-24", "system_invite", "jackson", ("yamamoto",), {"as": "Tyrone Jackson", "to_personal": True}),
    ("2019-02-05", "forward", "brennan_tr", ("brennan_tj",), {"webmail": True}),
    ("2019-02-12", "forward", "jackson", ("meyer",), {}),
    ("2019-02-14", "forward", "haddad", ("sanders",), {}),
    ("2019-02-19", "system_invite", "russo", ("sanders",), {"as": "Gina Russo"}),
    ("2019-02-26", "request_for_colleagues", "brennan_tj", ("price_a", "kim", "walsh"), {"vendor": "natarajan"}),
    ("2019-03-07", "system_invite", "walsh", ("park",), {"as": "Megan Walsh"}),
    ("2019-03-07", "system_invite", "walsh", ("coleman",), {"as": "Det. Megan Walsh"}),
    ("2019-03-12", "forward", "kim", ("ramirez", "goldberg"), {}),
    ("2019-03-20", "system_invite", "ramirez", ("thompson",), {"as": "Jorge Ramírez", "to_personal": True}),
    ("2019-03-26", "system_invite", "meyer", ("williams",), {"as": "lucas.meyer@metropd.example"}),
    ("2019-04-09", "system_invite", "park", ("popescu",), {"as": "Steven Park"}),
    ("2019-04-10", "system_invite", "park", ("carter",), {"as": "Steven Park (41 Squad)"}),
    ("2019-05-14", "on_behalf", "kessler", ("whitcomb",), {"vendor": "holloway"}),
    ("2019-05-21", "request_for_colleagues", "whitcomb", ("chen", "moreno"), {"vendor": "holloway"}),
    ("2019-05-28", "system_invite", "whitcomb", ("sato",), {"as": "Harold Whitcomb"}),
    ("2019-06-04", "system_invite", "chen", ("schultz",), {"as": "Insp. Laura Chen"}),
    ("2019-06-05", "system_invite", "moreno", ("oconnell",), {"as": "Victor Moreno"}),
    ("2019-06-18", "system_invite", "chen", ("reyes",), {"as": "Laura Chen (Intel)"}),
    ("2019-06-25", "request_for_colleagues", "reyes", ("grant", "nolan", "sullivan"), {"vendor": "natarajan"}),
    ("2019-07-09", "forward", "schultz", ("rossi",), {}),
    ("2019-07-16", "system_invite", "grant", ("petrov",), {"as": "Sgt. Michelle Grant"}),
    ("2019-08-06", "system_invite", "rossi", ("quinn",), {"as": "Sophia Rossi"}),
    ("2019-09-03", "system_invite", "harlow", ("mahmoud",), {"as": "bharlow@webmail.example"}),
)

#: Adopters with no invitation in the record: first evidence date, what it is, and why.
UNEXPLAINED: tuple[tuple[str, str, str, str], ...] = (
    ("bell", "2018-12-06", "welcome", "the only forward that could have reached him has its recipient redacted"),
    ("price_d", "2019-01-14", "welcome", "no invitation, request or forward in the record"),
    ("okafor", "2019-03-29", "usage", "first seen in a usage notice; no invitation or welcome in the record"),
    ("mitchell", "2019-04-02", "welcome", "no invitation, request or forward in the record"),
    ("reid", "2019-07-31", "usage", "first seen in a usage notice; no invitation or welcome in the record"),
    ("harlow", "2019-08-20", "welcome", "signed up with personal webmail; no invitation in the record"),
)

#: Who signed up with a personal address (index into Person.addresses).
LOGIN = {"brennan_tr": 1, "yamamoto": 1, "thompson": 1, "harlow": 1}
NEVER_JOINED = frozenset({"vega", "novak"})
HEAVY_USERS = frozenset({"roe", "nguyen", "alvarez_m", "whitfield", "osei", "lin", "jackson", "grant", "nolan", "kim", "whitcomb"})
ACCOUNT_EVIDENCE = ("account_created", "credentials_sent", "trial_extended", "usage_reported")
STORY_END = date(2020, 1, 31)  # the department's memo ends use on 2020-01-28


@dataclass(frozen=True, slots=True)
class Account:
    """One trial account as ground truth states it."""

    person: str  # key
    first: Event
    inviter: str | None
    unexplained: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class Story:
    """Everything the story plants: mail (sorted by time), events, invitations, accounts, facts."""

    mails: tuple[Mail, ...]
    events: tuple[Event, ...]
    invitations: tuple[Invitation, ...]
    accounts: tuple[Account, ...]
    facts: dict[str, object]


def build_story(seed: int) -> Story:
    """Play the plot with ``seed``; the cast and cascade are fixed, times and wording vary."""
    b = Builder(seed)
    adopted: dict[str, datetime] = {}
    received: dict[str, Mail] = {"roe": offer(b)}  # vendor mail with a sign-up link each forwarder can pass on
    for day, shape, inviter, invitees, opts in INVITES:
        if shape == "system_invite":
            when = _system_invite(b, day, inviter, invitees[0], opts)
        elif shape == "forward":
            if inviter not in received:
                received[inviter] = share(b, inviter, adopted[inviter], LOGIN.get(inviter, 0))
            when = forward(b, day, inviter, invitees, received[inviter], opts)
        else:
            when = request(b, day, shape, inviter, invitees, str(opts["vendor"]))
        for invitee in invitees:
            if invitee not in adopted and invitee not in NEVER_JOINED:
                adopted[invitee] = _adopt(b, invitee, when, shape, inviter)
    for key, day, how, _reason in UNEXPLAINED:
        if key == "bell":
            received["osei"] = received.get("osei") or share(b, "osei", adopted["osei"], 0)
            forward(b, "2018-11-30", "osei", (), received["osei"], {"redacted_to": True})
        if how == "welcome":
            adopted[key] = _welcome(b, key, b.at(day, 6, 23), None)
        else:
            adopted[key] = ny_to_utc(date.fromisoformat(day), 21, 5)
    usage_total = _usage(b, adopted)
    _trials(b, adopted)
    context_threads(b, adopted)
    return _finish(b, usage_total)


def _system_invite(b: Builder, day: str, inviter: str, invitee: str, opts: dict[str, object]) -> datetime:
    """The vendor's invitation mail to the invitee, naming the inviter as the vendor knows them."""
    when = b.at(day, 7, 23)
    shown = str(opts["as"])
    subject, body = b.rng.choice(SYSTEM_INVITES)
    person = BY_KEY[invitee]
    link = f"{APP}/join/{b.rng.getrandbits(48):012x}"
    text = body.format(inviter=shown, first=person.first, link=link)
    style = b.rng.random()
    page = html_page(text, "Accept invitation", link)
    which = 1 if opts.get("to_personal") else 0
    mail = b.mail(
        when,
        b.party("sys_invites"),
        (b.party(invitee, which),),
        subject.format(inviter=shown),
        None if style < 0.3 else text,
        html=page if style < 0.8 else None,
        plain=text,
    )
    b.invite(inviter, invitee, mail, "system_invite")
    return when


def _adopt(b: Builder, key: str, invited: datetime, shape: str, inviter: str) -> datetime:
    """Account creation after an invitation: a welcome, and for requested accounts, a login."""
    when = b.after(invited, 40, 60 * 48)
    if shape in ("system_invite", "forward"):
        return _welcome(b, key, when, None)
    requester = {
        "roe": "Det. Jane Roe",
        "brennan_tj": "Insp. Thomas Brennan",
        "kessler": "Daniel Kessler (Federal Financial Crimes Task Force)",
        "whitcomb": "Deputy Commissioner Harold Whitcomb",
        "reyes": "Capt. Daniel Reyes",
    }[inviter]
    _welcome(b, key, when, requester)
    if key != "whitcomb":  # Derek mails the deputy commissioner his login himself (scenes)
        person = BY_KEY[key]
        login = person.addresses[LOGIN.get(key, 0)]
        subject, body = b.rng.choice(CREDENTIALS)
        password = "".join(b.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789") for _ in range(8))
        password = f"{password[:3]}-{password[3:]}"
        text = body.format(first=person.first, login=login, password=password, app=APP) + "\n\nKevin\nVisageID Support"
        mail = b.mail(b.after(when, 5, 90), b.party("sys_support"), (b.party(key, LOGIN.get(key, 0)),), subject, text)
        b.event("credentials_sent", mail, (key,), holder=key)
    return when


def _welcome(b: Builder, key: str, when: datetime, requester: str | None) -> datetime:
    """The vendor's welcome (account_created), HTML or text, to the address the person signed up with."""
    person = BY_KEY[key]
    which = LOGIN.get(key, 0)
    login = person.addresses[which]
    subject, body = b.rng.choice(REQUESTED_WELCOMES if requester else WELCOMES)
    text = body.format(first=person.first, login=login, app=APP, requester=requester)
    style = b.rng.random()
    mail = b.mail(
        when,
        b.party("sys_noreply"),
        (b.party(key, which),),
        subject,
        None if style < 0.25 else text,
        html=html_page(text, "Sign in", APP) if style < 0.7 else None,
        plain=text,
    )
    b.event("account_created", mail, (key,), holder=key)
    return when


def _month_end(year: int, month: int) -> date:
    """Last day of a month."""
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _usage(b: Builder, adopted: dict[str, datetime]) -> int:
    """Monthly search-count notices; returns the total of searches they report (over 5,100)."""
    plan: list[tuple[str, date, float]] = []
    forced = {key: date.fromisoformat(day) for key, day, how, _ in UNEXPLAINED if how == "usage"}
    for key in sorted(adopted, key=lambda k: (adopted[k], k)):
        start = adopted[key].date()
        year, month = start.year, start.month
        while date(year, month, 1) <= STORY_END:
            end = _month_end(year, month)
            if end > STORY_END:
                break
            if forced.get(key) and forced[key].month == month and forced[key].year == year:
                plan.append((key, forced[key], 1.0))
            elif end - start >= timedelta(days=4) and b.rng.random() < (0.85 if key in HEAVY_USERS else 0.5):
                weight = b.rng.lognormvariate(3.6 if key in HEAVY_USERS else 2.3, 0.6)
                plan.append((key, end - timedelta(days=b.rng.randrange(3)), weight))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    target = b.rng.randint(5150, 5450)
    scale = target / sum(w for _, _, w in plan)
    total = 0
    damaged = False
    for key, day, weight in plan:
        count = 137 if (key == "roe" and day.year == 2019 and day.month == 1) else max(1, round(weight * scale))
        if key in forced and day == forced[key]:
            count = 3 + int(weight * 9)
        total += count
        person = BY_KEY[key]
        which = LOGIN.get(key, 0)
        subject, body = b.rng.choice(USAGE)
        if count == 137:  # the notice quoted in reporting: "you have run 137 searches this month"
            subject, body = USAGE[0]
        month = day.strftime("%B %Y")
        text = body.format(
            first=person.first,
            count=f"{count:,}",
            month=month,
            login=person.addresses[which],
            matches=count * 3 + b.rng.randrange(40),
            busy=(day - timedelta(days=b.rng.randrange(20))).strftime("%A, %B %d"),
        )
        when = ny_to_utc(day, 21, b.rng.randrange(60)) if key in forced and day == forced[key] else b.at(day, 19, 23.9)
        # One notice has a broken Date header: its event date is known only from ground truth.
        damage = "bad_date" if key == "russo" and not damaged else None
        damaged = damaged or damage is not None
        mail = b.mail(
            when,
            b.party("sys_noreply"),
            (b.party(key, which),),
            subject.format(count=f"{count:,}", month=month),
            text,
            no_id=(key == "kowalski" and day.month == 4 and day.year == 2019),
            malformed=damage,
        )
        b.event("usage_reported", mail, (key,), holder=key, searches=count, month=day.strftime("%Y-%m"))
    return total


def _trials(b: Builder, adopted: dict[str, datetime]) -> None:
    """Expiry warnings (no event) and extensions (``trial_extended``) from the vendor's system."""
    for key in sorted(adopted, key=lambda k: (adopted[k], k)):
        person = BY_KEY[key]
        which = LOGIN.get(key, 0)
        start = adopted[key]
        if b.rng.random() < 0.4:
            subject, body = b.rng.choice(TRIAL_ENDING)
            end = (start + timedelta(days=30)).strftime("%B %d, %Y")
            text = body.format(first=person.first, end=end, login=person.addresses[which])
            b.mail(b.after(start, 60 * 24 * 22, 60 * 24 * 24), b.party("sys_noreply"), (b.party(key, which),), subject.format(days=7), text)
        if b.rng.random() < 0.35 and key not in ("roe", "nguyen", "delgado", "whitcomb"):
            subject, body = b.rng.choice(TRIAL_EXTENDED)
            end = (start + timedelta(days=b.rng.choice((60, 90, 120)))).strftime("%B %d, %Y")
            text = body.format(first=person.first, end=end, login=person.addresses[which])
            mail = b.mail(b.after(start, 60 * 24 * 28, 60 * 24 * 31), b.party("sys_noreply"), (b.party(key, which),), subject, text)
            b.event("trial_extended", mail, (key,), holder=key, until=end)


def _finish(b: Builder, usage_total: int) -> Story:
    """Sort mail by time and derive accounts (first evidence, inviter, unexplained)."""
    first: dict[str, Event] = {}
    for ev in b.events:
        if ev.kind in ACCOUNT_EVIDENCE and ev.holder and (ev.holder not in first or ev.mail.when < first[ev.holder].mail.when):
            first[ev.holder] = ev
    reasons = {key: reason for key, _day, _how, reason in UNEXPLAINED}
    accounts = []
    for key, ev in sorted(first.items(), key=lambda kv: (kv[1].mail.when, kv[0])):
        offers = sorted((inv for inv in b.invitations if inv.invitee == key and inv.mail.when <= ev.mail.when), key=lambda i: i.mail.when)
        if key not in reasons and not offers:
            raise AssertionError(f"{key} adopted without an invitation before {ev.mail.when}")
        accounts.append(Account(key, ev, offers[0].inviter if offers else None, not offers, reasons.get(key)))
    shapes: dict[str, int] = {}
    for inv in b.invitations:
        shapes[inv.shape] = shapes.get(inv.shape, 0) + 1
    units = sorted({BY_KEY[a.person].unit or "" for a in accounts})
    facts = {
        "vendor": "visageid.example",
        "accounts": len(accounts),
        "unexplained_accounts": sum(a.unexplained for a in accounts),
        "invitations_by_shape": dict(sorted(shapes.items())),
        "invited_never_joined": sorted(BY_KEY[k].pid for k in NEVER_JOINED),
        "searches_reported_total": usage_total,
        "units_with_accounts": {u: sum(1 for a in accounts if BY_KEY[a.person].unit == u) for u in units},
        "unit_abbreviations": {u: UNIT_SHORT[u] for u in units},
        "ranks_with_accounts": sorted({BY_KEY[a.person].rank or "" for a in accounts}),
    }
    mails = tuple(sorted(b.mails, key=lambda m: (m.when, m.key)))
    return Story(mails, tuple(b.events), tuple(b.invitations), tuple(accounts), facts)
