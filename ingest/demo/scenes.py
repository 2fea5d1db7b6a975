"""Story scenes that move the cascade: the pitch, share links, forwards and account requests.

Each function adds messages through the :class:`~ingest.demo.builder.Builder` and records the
events they prove. The wording of forwards and requests is what extraction has to read.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .builder import Builder
from .cast import BY_KEY
from .mail import Mail, Party
from .texts import FOOTER, outlook_quote, reply_quote, webmail_forward
from .vendor import APP, OFFER, OFFER_SUBJECT, SHARE, SHARE_SUBJECTS

REDACTED = Party("", "", None, verbatim="[REDACTED]")
B6 = Party("", "", None, verbatim="(b)(6)")

_FORWARD_NOTES = {
    "roe": "Rebecca - this is the app I told you about. Free trial, sign up with your work email. It found my check-fraud guy in about five seconds.\n\nJ",
    "nguyen": "Lt. - FYI, the squad has been using this for a month with good results. Worth a look for the rest of FCU. Sign-up link is below.",
    "whitfield": "Guys - this is the facial rec app I was telling you about. Free trial, takes two minutes, sign up with the link below.\n"
    "From what I've seen it beats waiting two weeks on FIS.",
    "brennan_tr": "Dad - this is the thing I was telling you about at dinner. Try it, you'll see.\n\nT",
    "jackson": "Lucas - here's that link. Sign up with your dept email and you're good to go.",
    "haddad": "Olivia, FYI - worth signing up. Use the link at the bottom, it's free.",
    "kim": "Jorge, Aaron - free trial for that face search tool. Sign up with your dept email before they start charging.",
    "schultz": "Sophia - this might help with your pattern cases. Free for now, link below.",
    "osei": "See below - sign up with the link, it's free. Ask for me if you get stuck.",
}


def offer(b: Builder) -> Mail:
    """Derek's pitch to Det. Jane Roe after a conference, and her reply."""
    link = f"{APP}/signup?ref=dholloway"
    text = OFFER.format(first="Jane", link=link)
    body = text + b.sig("holloway")
    mail = b.mail(b.at("2018-10-17", 9, 17), b.party("holloway"), (b.party("roe"),), OFFER_SUBJECT, body, plain=body)
    b.mail(
        b.at("2018-10-18", 8, 12),
        b.party("roe"),
        (b.party("holloway"),),
        "RE: " + OFFER_SUBJECT,
        "Thanks Derek - will give it a try this week." + b.sig("roe") + outlook_quote(mail.sender, mail.to, (), mail.when, mail.subject, body) + FOOTER,
        reply_to=mail,
    )
    return mail


def share(b: Builder, key: str, adopted: datetime, which: int) -> Mail:
    """The vendor's "pass this link to colleagues" note a new user later forwards."""
    vendor = "holloway" if adopted.year == 2018 else "natarajan"
    person = BY_KEY[key]
    body = SHARE.format(first=person.first, link=f"{APP}/signup?ref={person.last.lower()}{b.rng.randrange(100, 999)}") + b.sig(vendor)
    when = b.at(adopted.date() + timedelta(days=1 + b.rng.randrange(2)), 9, 18)
    return b.mail(when, b.party(vendor), (b.party(key, which),), b.rng.choice(SHARE_SUBJECTS), body)


def forward(b: Builder, day: str, forwarder: str, invitees: tuple[str, ...], source: Mail, opts: dict[str, object]) -> datetime:
    """An officer forwarding vendor mail with a sign-up link: one ``invited`` per named recipient."""
    when = b.at(day, 7, 22)
    webmail = bool(opts.get("webmail"))
    bcc_keys = tuple(opts.get("bcc", ()))  # type: ignore[arg-type]
    to = tuple(b.party(k) for k in invitees if k not in bcc_keys) or (REDACTED,)
    bcc = tuple(b.party(k) for k in bcc_keys)
    note = _FORWARD_NOTES[forwarder]
    if source.when >= when:
        raise ValueError(f"{forwarder} would forward {source.subject!r} before receiving it")
    quoted = b.plain[source.key]
    if webmail:
        body = note + "\n" + webmail_forward(source.sender, source.to, source.when, source.subject, quoted)
        subject = "Fwd: " + source.subject
    else:
        body = note + b.sig(forwarder) + outlook_quote(source.sender, source.to, source.cc, source.when, source.subject, quoted) + FOOTER
        subject = "FW: " + source.subject
    mail = b.mail(when, b.party(forwarder, 1 if webmail else 0), to, subject, body, bcc=bcc, no_id=bool(opts.get("no_id")))
    if invitees:
        b.event("forwarded_vendor_mail", mail, (forwarder, *invitees), forwarded=source.message_id)
    else:
        b.event("forwarded_vendor_mail", mail, (forwarder,), forwarded=source.message_id, recipients_redacted=True)
    for key in invitees:
        b.invite(forwarder, key, mail, "forward")
    return when


def _request_text(requester: str, invitees: tuple[str, ...]) -> tuple[str, str]:
    """Subject and body of an account request, in each requester's own voice."""
    people = [BY_KEY[k] for k in invitees]
    if requester == "roe":
        lines = "\n".join(f"  {p.rank} {p.first if p.key != 'whitfield' else 'Sam'} {p.last} - {p.work}" for p in people)
        return (
            "Accounts for my squad",
            f"Hi Derek,\n\nThe squad has been impressed. Could you set up accounts for three more of our detectives?\n\n{lines}\n\nAll Identity Theft Squad.",
        )
    if requester == "brennan_tj":
        return "ACCOUNTS", (
            "PRIYA - PER OUR CONVERSATION PLS SET UP ACCTS FOR THE FOLLOWING:\nDET ANGELA PRICE 23 SQD\n"
            "DET ROBERT KIM 23 SQD (robert.kim@metropd.example)\nDET MEGAN WALSH 41 SQD\nTHX\nINSP T BRENNAN"
        )
    if requester == "whitcomb":
        return "Two more accounts", (
            "Derek -\n\nPlease set up accounts for two of my people: Insp. Laura Chen and Lt. Victor Moreno. Their emails are first.last@metropd.example.\n\nHW"
        )
    if requester == "reyes":
        lines = "\n".join(f"{p.rank} {p.name}, {p.work}" for p in people)
        return (
            "RTCC accounts",
            f"Hi Priya,\n\nFollowing up on our call: please create accounts for three of my RTCC people.\n\n{lines}\n\nThey will be running searches for the precincts overnight.",
        )
    return "Account for DC Whitcomb", (
        "Derek,\n\nI showed the app to Deputy Commissioner Whitcomb at Monday's task force briefing and he'd like an "
        "account of his own. Can you set one up for him at harold.whitcomb@metropd.example? Capt. Ellen Sato "
        "(cc'd) is his XO if you need anything from his office.\n\nThanks,\nDan"
    )


def request(b: Builder, day: str, shape: str, requester: str, invitees: tuple[str, ...], vendor: str) -> datetime:
    """An officer (or the task-force officer) asking the vendor for accounts for named people."""
    when = b.at(day, 8, 19)
    subject, text = _request_text(requester, invitees)
    cc: tuple[Party, ...] = ()
    if requester == "roe":
        cc = (b.party("nguyen"),)
    elif requester == "whitcomb":
        cc = (b.party("sato"),)
    elif requester == "kessler":
        cc = (b.party("sato"), B6)
    mobile = "blackberry" if requester == "brennan_tj" else None
    body = text + ("" if requester in ("whitcomb", "kessler") else b.sig(requester, mobile))
    if requester == "kessler":
        body += "\n\nTFO Daniel Kessler\nFederal Financial Crimes Task Force\nOffice: (b)(6)"
    mail = b.mail(when, b.party(requester), (b.party(vendor),), subject, body, cc=cc)
    b.event("requested_account_for", mail, (requester, *invitees))
    for key in invitees:
        b.invite(requester, key, mail, shape)
    names = ", ".join(BY_KEY[k].first for k in invitees[:-1]) + (" and " if len(invitees) > 1 else "") + BY_KEY[invitees[-1]].first
    done = (
        f"Done - {names} should have their logins shortly."
        if requester != "kessler"
        else "Dan - happy to. I'll have it set up today. Captain Sato, nice to e-meet you."
    )
    b.mail(
        b.after(when, 20, 240),
        b.party(vendor),
        (mail.sender,),
        "RE: " + subject,
        done + b.sig(vendor) + reply_quote(mail.sender, mail.when, body),
        cc=tuple(p for p in cc if p.person),
        reply_to=mail,
    )
    return when
