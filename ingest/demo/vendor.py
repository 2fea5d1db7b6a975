"""What the vendor's people and systems write: invitations, welcomes, logins, notices.

Each template is (subject, body) with ``{placeholders}``; the story picks one per message
with its random generator, so extraction rules must cope with every phrasing listed here.
"""

from __future__ import annotations

import html

APP = "https://app.visageid.example"

#: System invitations from invitations@visageid.example; {inviter} is how the vendor names the inviter.
SYSTEM_INVITES: tuple[tuple[str, str], ...] = (
    (
        "{inviter} has invited you to VisageID",
        "{inviter} has invited you to VisageID, the photo search tool built for investigators.\n\n"
        "Accept your invitation and choose a password:\n{link}\n\nThis invitation is valid for 14 days.",
    ),
    (
        "You're invited to try VisageID",
        "Hi {first},\n\nYou have been invited to VisageID by {inviter}.\n"
        "VisageID lets you search a face against billions of public images in seconds.\n\nGet started: {link}\n",
    ),
    (
        "Invitation: join VisageID",
        "Your colleague {inviter} thinks VisageID could help your investigations and sent you this invitation.\n\n"
        "Join here: {link}\n\nQuestions? Write to support@visageid.example.",
    ),
    ("{inviter} added you to VisageID", "{inviter} added you to their team on VisageID. Click below to activate your free law enforcement trial.\n\n{link}\n"),
    (
        "Join your colleagues on VisageID",
        "Good news, {first} - {inviter} invited you to join VisageID. Your free trial includes unlimited searches for 30 days.\n\nActivate: {link}\n",
    ),
)

WELCOMES: tuple[tuple[str, str], ...] = (
    (
        "Welcome to VisageID",
        "Welcome to VisageID, {first}!\n\nYour account ({login}) is now active. Upload a photo, hit Search, and review the matches.\n\n"
        "Tip: photos from surveillance stills work best when cropped to the face.",
    ),
    (
        "Your VisageID account is ready",
        "Hi {first},\n\nYour VisageID account has been activated. Log in at {app} with {login}.\n\nHappy searching!\nThe VisageID Team",
    ),
    ("Account activated", "Thanks for confirming your email address. Your VisageID trial account for {login} is active for 30 days.\n\n{app}"),
)

#: Welcomes for accounts someone else asked for; {requester} names that person.
REQUESTED_WELCOMES: tuple[tuple[str, str], ...] = (
    (
        "Your VisageID account",
        "Hello {first},\n\nYour VisageID account was created at the request of {requester}. You will receive your login details in a separate email.\n\n{app}",
    ),
    ("Welcome to VisageID", "Welcome, {first}! An account has been set up for you on behalf of {requester}.\n\nSign in at {app} using {login}."),
)

CREDENTIALS: tuple[tuple[str, str], ...] = (
    (
        "Your VisageID login details",
        "Hi {first},\n\nHere are your login details:\n\n  Username: {login}\n  Temporary password: {password}\n\n"
        "You will be asked to choose a new password the first time you sign in.",
    ),
    (
        "VisageID credentials",
        "{first},\n\nYour account is set up.\nLogin: {login}\nPassword: {password}\n\nPlease change the password after you log in at {app}.",
    ),
)

USAGE: tuple[tuple[str, str], ...] = (
    (
        "Your VisageID activity for {month}",
        "Hi {first},\n\nYou have run {count} searches this month.\n\nKeep going: investigators who search every day close more cases.",
    ),
    ("{count} searches in {month}", "Nice work, {first}! You ran {count} searches in {month}. Your most active day was {busy}."),
    ("VisageID monthly summary", "Account: {login}\nPeriod: {month}\nSearches run: {count}\nMatches reviewed: {matches}\n\nThis is an automated message."),
)

TRIAL_ENDING: tuple[tuple[str, str], ...] = (
    (
        "Your VisageID trial ends in {days} days",
        "Hi {first},\n\nYour free trial ends on {end}. To keep your account, reply to this email or contact your VisageID representative.",
    ),
    ("Trial expiring soon", "Your VisageID trial for {login} expires on {end}. Don't lose access to your search history!"),
)

TRIAL_EXTENDED: tuple[tuple[str, str], ...] = (
    ("Your VisageID trial has been extended", "Good news, {first}: your VisageID trial has been extended through {end}. No action is needed."),
    ("Trial extension confirmed", "We've extended your trial period. Your account {login} now stays active until {end}.\n\nThe VisageID Team"),
)


def html_page(text: str, button: str | None = None, link: str | None = None) -> str:
    """The vendor's HTML mail layout around ``text`` (escaped: names like O'Connell become entities)."""
    paragraphs = "".join(f'<p style="margin:0 0 12px 0">{html.escape(p).replace(chr(10), "<br>")}</p>\n' for p in text.split("\n\n") if p.strip())
    action = (
        (f'<p><a href="{link}" style="background:#1b5fd6;color:#fff;padding:10px 18px;text-decoration:none">{html.escape(button)}</a></p>\n')
        if button and link
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>VisageID</title></head>\n'
        '<body style="font-family:Arial,sans-serif;color:#222">\n<table width="600" cellpadding="20"><tr><td>\n'
        '<img src="cid:logo" alt="VisageID" width="120">\n'
        f"{paragraphs}{action}"
        '<p style="font-size:11px;color:#888">VisageID, Inc. &middot; 100 Example Way &middot; '
        "You received this email because an account was requested for you.</p>\n"
        "</td></tr></table>\n</body></html>\n"
    )


#: Derek's first pitch, and the "share it with colleagues" note the forwarders pass on.
OFFER_SUBJECT = "VisageID - free trial for your squad"
OFFER = (
    "Hi {first},\n\nGreat meeting you at the Northeast Fraud Investigators Conference last week. As promised, here is a free "
    "trial of VisageID. Upload any photo of a suspect and we search it against more than a billion public images - "
    "social media, news sites, mugshot sites.\n\nSign up in two minutes: {link}\n\n"
    "There is no limit on searches during the trial, and feel free to pass this along to anyone on your team."
)
SHARE_SUBJECTS = ("Share VisageID with your colleagues", "Invite your team to VisageID", "Glad to have you on VisageID")
SHARE = (
    "Hi {first},\n\nGlad to have you on board. If colleagues in other units would benefit, this link starts a free trial "
    "for anyone with a department email - no paperwork needed:\n\n{link}\n\n"
    "From what we hear, fraud and gang investigators get the most out of it."
)
