-- Threadline store, schema version 2: the case (issue 3).
-- Every table here is derived: ingest.case.apply_case deletes and recomputes all of
-- it from the mail and a case profile, so editing the profile and running
-- `threadline case` changes these facts and nothing else. Message keys point back to
-- messages.key; person ids to people.id.
CREATE TABLE IF NOT EXISTS organizations (
    id TEXT PRIMARY KEY,             -- slug of the name ('metro-city-police-department'), or the domain for unlisted ones
    name TEXT NOT NULL,
    kind TEXT NOT NULL,              -- agency | vendor | webmail | other
    note TEXT,
    from_profile INTEGER NOT NULL DEFAULT 1  -- 0 = made from an unlisted domain (profile: other_domains: true)
);
CREATE TABLE IF NOT EXISTS organization_domains (
    domain TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS person_case (
    person_id TEXT PRIMARY KEY,
    role TEXT NOT NULL,              -- agency_staff | vendor_contact | vendor_system | external
    organization TEXT,               -- organization name (what graph views show)
    organization_id TEXT,
    unit TEXT,                       -- the unit with the most evidence (all units: person_units)
    rank TEXT,                       -- the rank with the most evidence (all ranks: person_ranks)
    role_reason TEXT                 -- why this role, in a sentence
);
CREATE INDEX IF NOT EXISTS person_case_unit ON person_case(unit);
CREATE TABLE IF NOT EXISTS person_units (
    person_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    sources TEXT NOT NULL,           -- 'display-name', 'signature' or both, comma-separated
    messages INTEGER NOT NULL,       -- how many messages show it
    first_seen TEXT,
    last_seen TEXT,
    evidence TEXT NOT NULL,          -- JSON list of message keys (up to 20, earliest first)
    PRIMARY KEY (person_id, unit)
);
CREATE TABLE IF NOT EXISTS person_ranks (
    person_id TEXT NOT NULL,
    rank TEXT NOT NULL,
    sources TEXT NOT NULL,
    messages INTEGER NOT NULL,
    first_seen TEXT,
    last_seen TEXT,
    evidence TEXT NOT NULL,
    PRIMARY KEY (person_id, rank)
);
CREATE TABLE IF NOT EXISTS units (
    name TEXT PRIMARY KEY,
    people INTEGER NOT NULL,         -- people whose main unit this is
    first_seen TEXT,
    last_seen TEXT
);
CREATE TABLE IF NOT EXISTS ranks (
    name TEXT PRIMARY KEY,
    people INTEGER NOT NULL,
    first_seen TEXT,
    last_seen TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- invited | account_created | credentials_sent | trial_extended | usage_reported | forwarded_vendor_mail | requested_account_for
    date_utc TEXT,                   -- the date of the message that shows it
    message_key TEXT NOT NULL,       -- the evidence: messages.key
    vendor_id TEXT,                  -- organizations.id of the vendor concerned
    rule TEXT NOT NULL,              -- name of the profile rule that matched
    shape TEXT,                      -- for invited: system_invite | forward | request_for_colleagues | on_behalf
    detail TEXT                      -- JSON: matched text, search count …
);
CREATE INDEX IF NOT EXISTS events_kind ON events(kind, date_utc);
CREATE INDEX IF NOT EXISTS events_message ON events(message_key);
CREATE TABLE IF NOT EXISTS event_actors (
    event_id INTEGER NOT NULL,
    role TEXT NOT NULL,              -- inviter/invitee, requester/beneficiary, forwarder/recipient, vendor/holder
    person_id TEXT,                  -- NULL when the name could not be resolved to one person
    name TEXT,                       -- the name as written in the message (or the person's label)
    resolved INTEGER NOT NULL,       -- 1 = person_id is set; 0 = an explicit unresolved name
    how TEXT,                        -- 'sender', 'recipient', 'full name', 'ambiguous', …
    candidates TEXT                  -- JSON list of person ids that fit an unresolved name
);
CREATE INDEX IF NOT EXISTS event_actors_event ON event_actors(event_id);
CREATE INDEX IF NOT EXISTS event_actors_person ON event_actors(person_id, role);
CREATE TABLE IF NOT EXISTS trial_accounts (
    id INTEGER PRIMARY KEY,
    person_id TEXT NOT NULL,
    vendor_id TEXT NOT NULL,
    first_evidence TEXT,             -- date of the earliest message showing the account
    first_message_key TEXT,
    inviter_id TEXT,                 -- person who invited or requested it, when known
    inviter_name TEXT,               -- as written, also when unresolved
    invitation_event_id INTEGER,     -- the invited event that explains the account
    unexplained INTEGER NOT NULL,    -- 1 = no invitation or request on record
    UNIQUE (person_id, vendor_id)
);
CREATE TABLE IF NOT EXISTS account_events (
    account_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (account_id, event_id)
);
-- One row per (inviter, invitee) of each invited event; unresolved sides have NULL ids.
CREATE VIEW IF NOT EXISTS invitations AS
SELECT e.id AS event_id, e.date_utc, e.message_key, e.vendor_id, e.shape, e.rule,
       i.person_id AS inviter_id, i.name AS inviter_name, t.person_id AS invitee_id, t.name AS invitee_name
FROM events e
LEFT JOIN event_actors i ON i.event_id = e.id AND i.role = 'inviter'
JOIN event_actors t ON t.event_id = e.id AND t.role = 'invitee'
WHERE e.kind = 'invited';
