"""Load and validate a case profile (YAML) into frozen records.

A profile is data: organizations by domain, system senders, unit and rank
names, and event rules. Loading walks the YAML node tree (``yaml.compose``, never
object construction), so every error names the file and the line, and nothing in
a profile is ever executed. ``docs/case-profiles.md`` documents the format.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from .case_patterns import PatternProblem, expand, literal_pattern, word_bounded
from .case_yaml import Reader as _Reader
from .errors import ProfileError

__all__ = [
    "CaseProfile",
    "Organization",
    "Label",
    "EventRule",
    "load_profile",
    "builtin_profile",
    "BUILTIN_PROFILES",
    "ORG_KINDS",
    "PERSON_ROLES",
    "EVENT_KINDS",
    "SHAPES",
]

ORG_KINDS = ("agency", "vendor", "webmail", "other")
PERSON_ROLES = ("agency_staff", "vendor_contact", "vendor_system", "external")
#: What rule filters (sender, recipients, target_roles) accept: the roles, plus
#: ``personal`` for an external person whose only addresses are personal webmail.
ROLE_FILTERS = (*PERSON_ROLES, "personal")
#: Event kind -> (name of the actor's role, name of the target's role) in ``event_actors``.
EVENT_KINDS: dict[str, tuple[str, str]] = {
    "invited": ("inviter", "invitee"),
    "requested_account_for": ("requester", "beneficiary"),
    "forwarded_vendor_mail": ("forwarder", "recipient"),
    "account_created": ("vendor", "holder"),
    "credentials_sent": ("vendor", "holder"),
    "trial_extended": ("vendor", "holder"),
    "usage_reported": ("vendor", "holder"),
}
SHAPES = ("system_invite", "forward", "request_for_colleagues", "on_behalf")
SOURCES = ("sender", "to", "recipients", "text", "list", "none")
NEEDS = ("vendor_link", "vendor_quote", "vendor_participant", "forward")
SEARCH = ("own", "quoted", "all")


@dataclass(frozen=True)
class Organization:
    """An organization and the mail domains that belong to it."""

    id: str
    name: str
    kind: str
    domains: tuple[str, ...]
    terms: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Label:
    """A unit or rank: its canonical name and the compiled pattern that finds it.

    ``name`` is empty for an open pattern whose match text is the name
    (e.g. "any capitalized words followed by Squad").
    """

    name: str
    pattern: re.Pattern[str]
    line: int = 0


@dataclass(frozen=True)
class EventRule:
    """One event rule: when a message matches, which events it states and about whom."""

    name: str
    kinds: tuple[str, ...]
    actor: str
    target: str
    shape: str = ""
    sender: frozenset[str] = frozenset()
    recipients: frozenset[str] = frozenset()
    target_roles: frozenset[str] = frozenset()
    subject: tuple[re.Pattern[str], ...] = ()
    body: tuple[re.Pattern[str], ...] = ()
    exclude: tuple[re.Pattern[str], ...] = ()
    needs: frozenset[str] = frozenset()
    needs_any: frozenset[str] = frozenset()
    search: str = "own"
    only_if_new: bool = False
    require_target: bool = True
    line: int = 0


@dataclass(frozen=True)
class CaseProfile:
    """A loaded, validated case profile."""

    path: str
    name: str
    organizations: tuple[Organization, ...]
    system_senders: frozenset[str]
    other_domains: bool
    units: tuple[Label, ...]
    ranks: tuple[Label, ...]
    rules: tuple[EventRule, ...]
    digest: str = ""
    rank_alternation: str = ""
    _by_domain: dict[str, Organization] = field(default_factory=dict, repr=False, compare=False)

    @property
    def vendors(self) -> tuple[Organization, ...]:
        """The vendor organizations."""
        return tuple(o for o in self.organizations if o.kind == "vendor")

    def organization_of(self, domain: str | None) -> Organization | None:
        """The organization that owns ``domain`` (or a parent domain of it)."""
        if not domain:
            return None
        parts = domain.lower().split(".")
        for i in range(len(parts) - 1):
            found = self._by_domain.get(".".join(parts[i:]))
            if found:
                return found
        return None


#: The folder of the profiles shipped with Threadline.
BUILTIN_PROFILES = Path(str(resources.files("ingest").joinpath("profiles")))


def builtin_profile(name: str) -> Path:
    """Path of a profile shipped with Threadline (``generic`` or ``demo``)."""
    path = BUILTIN_PROFILES / f"{name}.yaml"
    if not path.exists():
        raise ProfileError(name, "no such built-in profile; use 'generic', 'demo' or a path to a YAML file")
    return path


_TOP = ("name", "extends", "replace", "organizations", "other_domains", "system_senders", "units", "ranks", "events")


def load_profile(path: str | os.PathLike[str]) -> CaseProfile:
    """Read and validate the profile at ``path`` (``extends`` is followed).

    Raises :class:`ingest.errors.ProfileError` naming the file, the line and what is wrong.
    """
    docs = _load_chain(Path(path), [])
    return _build(docs)


def _load_chain(path: Path, seen: list[Path]) -> list[tuple[_Reader, dict[str, yaml.Node], bytes]]:
    if path.suffix == "" and not path.is_file():
        # A folder called "demo" (say, `threadline demo --out demo`) does not hide the built-in profile.
        path = builtin_profile(str(path))
    if path.is_dir():
        raise ProfileError(str(path), "is a folder, not a case profile; pass a YAML file, or 'generic' or 'demo' for a built-in one")
    if not path.exists():
        raise ProfileError(str(path), "no such case profile; pass a YAML file, or 'generic' or 'demo' for a built-in one")
    if path.resolve() in seen:
        raise ProfileError(str(path), "profiles extend each other in a loop")
    raw = path.read_bytes()
    reader = _Reader(str(path))
    try:
        root = yaml.compose(raw.decode("utf-8-sig"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise ProfileError(str(path), "not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProfileError(str(path), f"not valid YAML ({getattr(exc, 'problem', None) or exc})", mark.line + 1 if mark else None) from None
    if root is None:
        raise ProfileError(str(path), "the profile is empty")
    top = reader.mapping(root, "the profile", _TOP)
    chain: list[tuple[_Reader, dict[str, yaml.Node], bytes]] = []
    if "extends" in top:
        base = reader.text(top["extends"], "extends")
        if "/" in base or base.endswith((".yaml", ".yml")):
            base_path = path.parent / base
        else:
            try:
                base_path = builtin_profile(base)
            except ProfileError:
                # Name the file that says "extends", not just the missing base.
                raise reader.fail(top["extends"], f"extends: {base!r} is no built-in profile; use 'generic', 'demo' or a path to a YAML file") from None
        chain = _load_chain(base_path, [*seen, path.resolve()])
    return [*chain, (reader, top, raw)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "org"


def _build(docs: list[tuple[_Reader, dict[str, yaml.Node], bytes]]) -> CaseProfile:
    name, other_domains = "", True
    orgs: dict[str, Organization] = {}
    senders: set[str] = set()
    unit_specs: list[tuple[_Reader, yaml.Node]] = []
    rank_specs: list[tuple[_Reader, yaml.Node]] = []
    rule_specs: list[tuple[_Reader, yaml.Node]] = []
    digest = hashlib.sha256()
    for reader, top, raw in docs:
        digest.update(raw)
        for section, item in reader.texts(top["replace"], "replace") if "replace" in top else []:
            if section not in ("organizations", "system_senders", "units", "ranks", "events"):
                raise reader.fail(item, f"replace lists sections to take from this file only; {section!r} is not one of organizations, system_senders, units, ranks, events")
            if section == "organizations":
                orgs.clear()
            elif section == "system_senders":
                senders.clear()
            else:
                {"units": unit_specs, "ranks": rank_specs, "events": rule_specs}[section].clear()
        if "name" in top:
            name = reader.text(top["name"], "name")
        if "other_domains" in top:
            other_domains = reader.flag(top["other_domains"], "other_domains")
        for node in _seq(reader, top.get("organizations"), "organizations"):
            org = _organization(reader, node)
            old = orgs.get(org.id)
            if old is not None and old.kind == org.kind:
                # Same organization declared again (e.g. more webmail domains): add to it.
                org = Organization(org.id, org.name, org.kind, tuple(dict.fromkeys(old.domains + org.domains)), tuple(dict.fromkeys(old.terms + org.terms)), org.note or old.note)
            orgs[org.id] = org
        for value, item in reader.texts(top["system_senders"], "system_senders") if "system_senders" in top else []:
            if value.count("@") > 1 or " " in value:
                raise reader.fail(item, f"system sender {value!r} must be an address or a local part such as 'noreply'")
            senders.add(value.lower())
        unit_specs += [(reader, n) for n in _seq(reader, top.get("units"), "units")]
        rank_specs += [(reader, n) for n in _seq(reader, top.get("ranks"), "ranks")]
        rule_specs += [(reader, n) for n in _seq(reader, top.get("events"), "events")]
    by_domain: dict[str, Organization] = {}
    for org in orgs.values():
        for domain in org.domains:
            by_domain[domain] = org
    ranks = _labels(rank_specs, "rank")
    rank_alt = "|".join(f"(?:{r.pattern.pattern})" for r in sorted(ranks, key=lambda r: -len(r.name)) if r.name)
    vendor_terms = [literal_pattern(t) for o in orgs.values() if o.kind == "vendor" for t in o.terms]
    vendor_alt = "|".join(sorted(set(vendor_terms), key=len, reverse=True))
    rules = tuple(_rule(reader, node, vendor_alt, rank_alt) for reader, node in rule_specs)
    return CaseProfile(
        path=docs[-1][0].path,
        name=name or Path(docs[-1][0].path).stem,
        organizations=tuple(orgs.values()),
        system_senders=frozenset(senders),
        other_domains=other_domains,
        units=_labels(unit_specs, "unit"),
        ranks=ranks,
        rules=rules,
        digest=digest.hexdigest(),
        rank_alternation=rank_alt,
        _by_domain=by_domain,
    )


def _seq(reader: _Reader, node: yaml.Node | None, what: str) -> list[yaml.Node]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise reader.fail(node, f"{what} must be a list (entries start with '- ')")
    return list(node.value)


def _organization(reader: _Reader, node: yaml.Node) -> Organization:
    spec = reader.mapping(node, "an organization", ("name", "kind", "domains", "terms", "note", "id"))
    for key in ("name", "kind", "domains"):
        if key not in spec:
            raise reader.fail(node, f"an organization needs '{key}'")
    org_name = reader.text(spec["name"], "organization name")
    kind = reader.choice(spec["kind"], "organization kind", ORG_KINDS)
    domains = []
    for value, item in reader.texts(spec["domains"], "domains"):
        value = value.lower().lstrip("@")
        if "@" in value or " " in value or "." not in value:
            raise reader.fail(item, f"{value!r} is not a mail domain (write 'agency.gov', not an address)")
        domains.append(value)
    terms = [t for t, _ in reader.texts(spec["terms"], "terms")] if "terms" in spec else []
    if kind == "vendor":
        terms = list(dict.fromkeys([org_name, *terms, *(d.split(".")[0] for d in domains)]))
    org_id = reader.text(spec["id"], "id") if "id" in spec else _slug(org_name)
    note = reader.text(spec["note"], "note") if "note" in spec else ""
    return Organization(org_id, org_name, kind, tuple(domains), tuple(terms), note)


def _labels(specs: list[tuple[_Reader, yaml.Node]], what: str) -> tuple[Label, ...]:
    """Units or ranks: names (case-insensitive literals), abbreviations (exact case), patterns (regex)."""
    merged: dict[str, list[str]] = {}
    lines: dict[str, int] = {}
    order: list[str] = []
    for reader, node in specs:
        if isinstance(node, yaml.ScalarNode):
            spec = {"name": node}
        else:
            spec = reader.mapping(node, f"a {what}", ("name", "names", "abbreviations", "patterns"))
        label = reader.text(spec["name"], f"{what} name") if "name" in spec else ""
        if not label and "patterns" not in spec:
            raise reader.fail(node, f"a {what} needs a 'name' (or 'patterns' whose match is the name)")
        parts: list[str] = []
        for text, _ in [(label, None)] if label else []:
            parts.append(literal_pattern(text))
        for text, _ in reader.texts(spec["names"], "names") if "names" in spec else []:
            parts.append(literal_pattern(text))
        for text, _ in reader.texts(spec["abbreviations"], "abbreviations") if "abbreviations" in spec else []:
            parts.append("(?-i:" + re.escape(text) + ")")
        for text, item in reader.texts(spec["patterns"], "patterns") if "patterns" in spec else []:
            reader.regex(item, text, f"{what} pattern {text!r}")
            parts.append(text)
        key = label or f"#open{len(order)}"
        if key not in merged:
            order.append(key)
            merged[key] = []
            lines[key] = node.start_mark.line + 1
        merged[key].extend(parts)
    out = []
    for key in order:
        parts = list(dict.fromkeys(merged[key]))
        if key.startswith("#open"):
            parts = ["(?P<open>" + "|".join(f"(?:{p})" for p in parts) + ")"]
        out.append(Label("" if key.startswith("#open") else key, re.compile(word_bounded(parts), re.IGNORECASE), lines[key]))
    return tuple(out)


_RULE_KEYS = ("name", "kind", "shape", "sender", "recipients", "target_roles", "subject", "body", "not", "needs", "needs_any", "search", "actor", "target", "only_if_new", "require_target")


def _rule(reader: _Reader, node: yaml.Node, vendor_alt: str, rank_alt: str) -> EventRule:
    spec = reader.mapping(node, "an event rule", _RULE_KEYS)
    for key in ("kind", "actor", "target"):
        if key not in spec:
            raise reader.fail(node, f"an event rule needs '{key}'")
    kinds = tuple(sorted(reader.choices(spec["kind"], "kind", tuple(EVENT_KINDS))))
    if "subject" not in spec and "body" not in spec and "needs" not in spec:
        raise reader.fail(node, "an event rule needs 'subject' or 'body' patterns (or at least 'needs')")

    def patterns(key: str) -> tuple[re.Pattern[str], ...]:
        out = []
        for text, item in reader.texts(spec[key], key) if key in spec else []:
            try:
                expanded = expand(text, vendor=vendor_alt, ranks=rank_alt)
            except PatternProblem as exc:
                raise reader.fail(item, f"{key} pattern {text!r}: {exc}") from None
            out.append(reader.regex(item, expanded, f"{key} pattern {text!r}"))
        return tuple(out)

    subject, body, exclude = patterns("subject"), patterns("body"), patterns("not")
    actor = reader.choice(spec["actor"], "actor", SOURCES)
    target = reader.choice(spec["target"], "target", SOURCES)
    for side, source in (("actor", actor), ("target", target)):
        if source == "text" and not all(side in p.groupindex for p in (*subject, *body)):
            raise reader.fail(spec[side], f"{side}: text needs {{{side}}} in every subject and body pattern of this rule")
    if actor == "list":
        raise reader.fail(spec["actor"], "actor: list is not supported; a list of names can only be the target")
    shape = reader.choice(spec["shape"], "shape", SHAPES) if "shape" in spec else ""
    if shape and "invited" not in kinds:
        raise reader.fail(spec["shape"], "shape only applies to rules whose kind includes 'invited'")
    return EventRule(
        name=reader.text(spec["name"], "name") if "name" in spec else f"rule at line {node.start_mark.line + 1}",
        kinds=kinds,
        actor=actor,
        target=target,
        shape=shape,
        sender=reader.choices(spec["sender"], "sender", ROLE_FILTERS) if "sender" in spec else frozenset(),
        recipients=reader.choices(spec["recipients"], "recipients", ROLE_FILTERS) if "recipients" in spec else frozenset(),
        target_roles=reader.choices(spec["target_roles"], "target_roles", ROLE_FILTERS) if "target_roles" in spec else frozenset(),
        subject=subject,
        body=body,
        exclude=exclude,
        needs=reader.choices(spec["needs"], "needs", NEEDS) if "needs" in spec else frozenset(),
        needs_any=reader.choices(spec["needs_any"], "needs_any", NEEDS) if "needs_any" in spec else frozenset(),
        search=reader.choice(spec["search"], "search", SEARCH) if "search" in spec else "own",
        only_if_new=reader.flag(spec["only_if_new"], "only_if_new") if "only_if_new" in spec else False,
        require_target=reader.flag(spec["require_target"], "require_target") if "require_target" in spec else True,
        line=node.start_mark.line + 1,
    )
