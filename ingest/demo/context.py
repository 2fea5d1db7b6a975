"""Story scenes around the cascade, which carry context more than invitations.

Success stories, personal trial extensions, the deputy commissioner's login, a support reset,
the facial identification section and legal bureau, the press denial and the memo ending use.
"""

from __future__ import annotations

from datetime import datetime

from .builder import Builder
from .cast import BY_KEY
from .texts import FOOTER, outlook_quote, pdf, png, reply_quote


def context_threads(b: Builder, adopted: dict[str, datetime]) -> None:
    """Everything around the cascade: success stories, extensions, the DC's login, press, memo."""
    _success_stories(b)
    for key, day in (("roe", "2018-11-20"), ("nguyen", "2019-01-30"), ("delgado", "2019-02-01"), ("whitcomb", "2019-08-15")):
        until = {"roe": "January 31", "nguyen": "April 30", "delgado": "April 30", "whitcomb": "December 31"}[key]
        text = (
            f"{BY_KEY[key].first if key != 'whitcomb' else 'Deputy Commissioner'},\n\nI went ahead and extended your trial through "
            f"{until} - no need to do anything on your end." + b.sig("holloway")
        )
        mail = b.mail(b.at(day, 9, 18), b.party("holloway", 1 if key in ("nguyen", "whitcomb") else 0), (b.party(key),), "Your trial", text)
        b.event("trial_extended", mail, ("holloway", key), holder=key, until=until)
    _deputy_commissioner(b, adopted["whitcomb"])
    login_share = b.mail(
        b.at("2019-01-29", 15, 23),
        b.party("jackson"),
        (b.party("morrison"),),
        "login",
        "Jake - use mine until yours comes through.\n\nuser: tyrone.jackson@metropd.example\npw: Gang$quad19\n\n"
        "don't pass it around" + b.sig("jackson", "iphone"),
        client="iphone",
    )
    b.event("credentials_sent", login_share, ("jackson", "morrison"), holder="jackson", shared_login=True)
    _support(b, adopted["price_a"])
    _fis_and_legal(b)
    _press_and_memo(b)


def _support(b: Builder, created: datetime) -> None:
    """Locked out: a detective writes to support@, and an engineer answers from his own address."""
    ask = b.mail(
        b.after(created, 60 * 24 * 40, 60 * 24 * 45),
        b.party("price_a"),
        (b.party("sys_support"),),
        "Locked out",
        "Hi, I'm locked out of my account after too many attempts. Can you reset it?" + b.sig("price_a"),
    )
    password = "".join(b.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    reset = b.mail(
        b.after(ask.when, 20, 180),
        b.party("marsh"),
        (ask.sender,),
        "RE: Locked out",
        f"Hi Angela,\n\nI've reset it. Your temporary password is {password} - you'll be asked to change it when you sign in."
        + b.sig("marsh")
        + reply_quote(ask.sender, ask.when, b.plain[ask.key]),
        reply_to=ask,
    )
    b.event("credentials_sent", reset, ("marsh", "price_a"), holder="price_a", reset=True)


def _success_stories(b: Builder) -> None:
    """The CEO asks for success stories; the squad sergeant collects them and sends them over."""
    ask = b.mail(
        b.at("2019-01-09", 10, 16),
        b.party("blake"),
        (b.party("roe"),),
        "Success stories?",
        "Hi Jane,\n\nDerek tells me your squad has had some great results. Would you be willing to share a few success stories? "
        "Anonymized is fine - no names or case numbers." + b.sig("blake"),
        cc=(b.party("holloway"),),
    )
    start = b.mail(
        b.at("2019-01-10", 8, 10),
        b.party("nguyen"),
        (b.party("its_list"),),
        "Success stories",
        "All,\n\nVisageID asked for success stories. Send me yours by Friday - two or three sentences each, "
        "NO names, NO complaint numbers.\n\nThanks" + b.sig("nguyen") + FOOTER,
    )
    stories = (
        ("alvarez_m", 0, "Bank photo of a check casher, ran it, got an Instagram hit in 10 min. Subject (b)(6) arrested 1/4, admitted to 14 checks.", None),
        ("whitfield", 1, "From the photo alone it matched him to a (b)(6) profile under an alias. Closed three ID theft complaints with one search.", None),
        (
            "osei",
            0,
            "ATM skimmer install caught on camera. VisageID hit on a wedding photo. Arrest same week.\n"
            ">From the DD5: subject identified via open source photo comparison.",
            None,
        ),
        ("brooks", 0, "Screenshot attached - the match on the left is the guy from the 1/2 pattern. [REDACTED]", "truncated_mime"),
        ("roe", 0, "Credit card fraud crew, 4 of 5 identified in one afternoon. DA was thrilled.", None),
    )
    replies = []
    for key, which, story, damage in stories:
        when = b.after(start.when, 60 * 3, 60 * 24 * 4)
        attach = (png("screenshot.png", 7),) if damage else ()
        mobile = "iphone" if which else None
        body = story + b.sig(key, mobile) + reply_quote(start.sender, start.when, b.plain[start.key])
        replies.append(
            b.mail(
                when,
                b.party(key, which),
                (b.party("nguyen"),),
                "RE: Success stories",
                body,
                reply_to=start,
                attachments=attach,
                malformed=damage,
                no_id=(key == "whitfield"),
            )
        )
    chain = "".join(outlook_quote(m.sender, m.to, (), m.when, m.subject, b.plain[m.key].split("\n\n")[0]) for m in replies[:3])
    sent = b.mail(
        b.at("2019-01-16", 9, 15),
        b.party("nguyen"),
        (b.party("holloway"), b.party("blake")),
        "FW: Success stories",
        "Derek, Owen -\n\nAttached is a summary from the Identity Theft Squad. A few of the replies are below. "
        "Please do not use the unit's name publicly." + b.sig("nguyen") + chain + FOOTER,
        cc=(b.party("roe"),),
        attachments=(pdf("ITS_success_stories.pdf", "ITS success stories", 11),),
    )
    b.mail(
        b.after(sent.when, 30, 600),
        b.party("blake"),
        (sent.sender,),
        "RE: Success stories",
        "These are fantastic - thank you. We won't name the unit." + b.sig("blake") + reply_quote(sent.sender, sent.when, b.plain[sent.key]),
        cc=(b.party("roe"), b.party("holloway")),
        reply_to=sent,
    )
    b.mail(
        b.after(ask.when, 60, 300),
        b.party("roe"),
        (ask.sender,),
        "RE: Success stories?",
        "Owen - Sgt. Nguyen is putting a list together, you'll have it next week." + b.sig("roe"),
        reply_to=ask,
    )


def _deputy_commissioner(b: Builder, created: datetime) -> None:
    """Derek mails the deputy commissioner his login; the DC thanks him from his iPhone."""
    password = "".join(b.rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    creds = b.mail(
        b.after(created, 10, 120),
        b.party("holloway"),
        (b.party("whitcomb"),),
        "Your VisageID account",
        "Deputy Commissioner,\n\nAt Dan Kessler's request I've set up your VisageID account.\n\n"
        f"Username: harold.whitcomb@metropd.example\nTemporary password: {password}\n\n"
        "Call me any time if you'd like a walkthrough." + b.sig("holloway"),
        cc=(b.party("sato"),),
    )
    b.event("credentials_sent", creds, ("holloway", "whitcomb"), holder="whitcomb")
    b.mail(
        b.after(creds.when, 60 * 18, 60 * 30),
        b.party("whitcomb", 1),
        (b.party("holloway"),),
        "Re: Your VisageID account",
        "Thanks Derek. Ran a few already - impressive. HW" + b.sig("whitcomb", "iphone"),
        cc=(b.party("kessler"),),
        reply_to=creds,
    )


def _fis_and_legal(b: Builder) -> None:
    """The facial identification section and the legal bureau notice the trial."""
    update = b.mail(
        b.at("2019-09-09", 10, 16),
        b.party("holloway"),
        (b.party("delgado"),),
        "VisageID 3.0 - now 3 billion images",
        "Lt. Delgado,\n\nQuick update: VisageID now searches more than 3 billion images and returns results in under "
        "two seconds. Your team's trial has unlimited searches through year end." + b.sig("holloway"),
    )
    fwd = b.mail(
        b.at("2019-09-10", 8, 12),
        b.party("delgado"),
        (b.party("cho"),),
        "FW: " + update.subject,
        "Ray - FYI. My people like it."
        + b.sig("delgado")
        + outlook_quote(update.sender, update.to, (), update.when, update.subject, b.plain[update.key])
        + FOOTER,
    )
    b.event("forwarded_vendor_mail", fwd, ("delgado", "cho"), forwarded=update.message_id)
    reply = b.mail(
        b.after(fwd.when, 30, 300),
        b.party("cho"),
        (fwd.sender,),
        "RE: " + fwd.subject,
        "Lt., FIS is the only unit authorized to run facial recognition for the Department. Has Legal approved this?"
        + b.sig("cho")
        + reply_quote(fwd.sender, fwd.when, b.plain[fwd.key]),
        reply_to=fwd,
        no_id=True,
    )
    b.mail(
        b.after(reply.when, 60, 600),
        b.party("delgado"),
        (reply.sender,),
        "RE: " + fwd.subject,
        "Take it up with the DC's office. They use it too." + b.sig("delgado"),
        reply_to=reply,
        malformed="broken_header",
    )
    ask = b.mail(
        b.at("2019-10-08", 9, 17),
        b.party("feld"),
        (b.party("sato"),),
        "VisageID",
        "Captain,\n\nDo we have any agreement with a company called VisageID? I've been told members are using it." + b.sig("feld"),
    )
    b.mail(
        b.after(ask.when, 60, 60 * 20),
        b.party("sato"),
        (ask.sender,),
        "RE: VisageID",
        "Marcia - no contract. Some members are on free trials. The DC is aware." + b.sig("sato") + reply_quote(ask.sender, ask.when, b.plain[ask.key]),
        reply_to=ask,
    )
    proposal = b.mail(
        b.at("2019-11-12", 10, 17),
        b.party("holloway"),
        (b.party("whitcomb"),),
        "MCPD - 2020 licensing proposal",
        "Deputy Commissioner,\n\nWith 40+ of your members now on the platform, attached is our proposal for a department licence in 2020." + b.sig("holloway"),
        attachments=(pdf("VisageID_MCPD_proposal.pdf", "Proposal", 23),),
        malformed="no_boundary",
    )
    fwd2 = b.mail(
        b.after(proposal.when, 60 * 2, 60 * 30),
        b.party("whitcomb"),
        (b.party("sato"),),
        "FW: " + proposal.subject,
        "Ellen - thoughts? Not until after the budget hearings."
        + b.sig("whitcomb", "iphone")
        + outlook_quote(proposal.sender, proposal.to, (), proposal.when, proposal.subject, b.plain[proposal.key]),
        client="iphone",
    )
    b.event("forwarded_vendor_mail", fwd2, ("whitcomb", "sato"), forwarded=proposal.message_id)


def _press_and_memo(b: Builder) -> None:
    """A reporter asks; the press office denies any relationship; a memo ends use a week later."""
    question = b.mail(
        b.at("2020-01-20", 10, 16),
        b.party("kovacs"),
        (b.party("press"),),
        "Press inquiry: VisageID",
        "Hello,\n\nI'm reporting on police use of face-recognition apps. Does the Metro City Police Department use VisageID, "
        "or has it had any relationship with the company? My deadline is tomorrow at 5 p.m.\n\nLena Kovacs\nMetro Tribune",
    )
    answer_text = (
        "Ms. Kovacs,\n\nThe Metro City Police Department has no relationship with VisageID. The Department's Facial Identification "
        "Section uses only approved tools, under a written policy.\n\nLt. Sharon Diaz\nOffice of Public Information"
    )
    answer = b.mail(
        b.after(question.when, 60 * 18, 60 * 26),
        b.party("press"),
        (question.sender,),
        "RE: Press inquiry: VisageID",
        answer_text + reply_quote(question.sender, question.when, b.plain[question.key]),
        reply_to=question,
    )
    fyi = b.mail(
        b.after(answer.when, 20, 90),
        b.party("diaz"),
        (b.party("sato"),),
        "FW: Press inquiry: VisageID",
        "FYI - below went out this morning." + b.sig("diaz") + outlook_quote(answer.sender, answer.to, (), answer.when, answer.subject, answer_text),
        cc=(b.party("cod"),),
    )
    b.mail(
        b.after(fyi.when, 30, 240),
        b.party("sato"),
        (fyi.sender,),
        "RE: FW: Press inquiry: VisageID",
        "Thanks. Heads up - a number of members have trial accounts with them." + b.sig("sato"),
        reply_to=fyi,
    )
    b.mail(
        b.at("2020-01-28", 8, 11),
        b.party("cod"),
        (b.party("db_list"),),
        "Use of unapproved facial recognition applications",
        "Effective immediately, members of the Detective Bureau shall not use any facial recognition application other than through the "
        "Facial Identification Section. Any free trial accounts with outside vendors are to be discontinued.\n\n"
        "By direction of the Chief of Detectives",
        cc=(b.party("its_list"),),
        attachments=(pdf("CDO_memo_2020-03.pdf", "CDO memo 2020-03", 31),),
        client="outlook",
        clock="ny",
    )
