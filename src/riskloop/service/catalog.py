"""Managing rules, lists and policies: validate, version, audit, and publish a compiled
snapshot (the *playbook*) that the decision path reads without touching the database.

Every change is a new version with its author and note, written in the same transaction as
its audit entry. The playbook is rebuilt at once in the process that made the change and,
in other processes, when they see the audit log move (a server looks every second).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from riskloop.errors import ConflictError, FieldError, InvalidDefinition, InvalidInput, NotFound
from riskloop.features.definitions import FeatureSet
from riskloop.intake.registry import EVENT_TYPES
from riskloop.ledger.audit import AuditEntry
from riskloop.ledger.ports import CatalogStore
from riskloop.pipeline import Playbook, PolicyPlan
from riskloop.policy.model import Policy, PolicyStatus, policy_from_dict
from riskloop.rules.cel import CompiledRule, Vocabulary, compile_rule
from riskloop.rules.lists import (
    ListDef,
    ListEntry,
    ListIndex,
    Protector,
    list_from_dict,
    normalise_value,
)
from riskloop.rules.model import Rule, Status, rule_from_dict

log = logging.getLogger(__name__)
_LIST_REF = re.compile(r"\blists\.([a-z][a-z0-9_]*)")


def _actor(doc: Mapping[str, Any], where: str = "author") -> str:
    author = doc.get("author")
    if not isinstance(author, str) or not author.strip() or len(author) > 100:
        raise InvalidInput([FieldError(where, "say who makes the change (1-100 characters)")])
    return author.strip()


def _when(raw: Any, where: str) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput([FieldError(where, "must be an ISO 8601 time")]) from None
    if moment.tzinfo is None:
        raise InvalidInput([FieldError(where, "must carry a timezone")])
    return moment


class CatalogService:
    def __init__(
        self,
        store: CatalogStore,
        feature_set: FeatureSet,
        protector: Protector,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.feature_set = feature_set
        self.protector = protector
        self.clock = clock
        self._lock = threading.Lock()
        self._playbook: Playbook | None = None
        self._seen = -1

    # -- the playbook ---------------------------------------------------------------------

    def vocabularies(self, list_names: Sequence[str]) -> dict[str, Vocabulary]:
        return {t: Vocabulary.of(t, self.feature_set, list_names) for t in EVENT_TYPES}

    def playbook(self) -> Playbook:
        pb = self._playbook
        return pb if pb is not None else self.refresh(force=True)

    def refresh(self, *, force: bool = False) -> Playbook:
        """Rebuild the playbook if the catalogue changed (any process) since the last build."""
        seq = self.store.audit().last_seq()
        with self._lock:
            if self._playbook is not None and not force and seq == self._seen:
                return self._playbook
            self._playbook = self._build(seq)
            self._seen = seq
            return self._playbook

    def _build(self, seq: int) -> Playbook:
        return self._assemble(seq, self.store.rules(), self.store.policies())

    def candidate(
        self, *, rules: Sequence[Any] = (), policies: Sequence[Any] = ()
    ) -> tuple[Playbook, frozenset[str]]:
        """The playbook as it would be with ``rules`` and ``policies`` (documents, or saved
        :class:`Policy` versions) in force, nothing saved: what a backtest or a canary runs.
        A candidate policy is taken as active for its event types. Returns the playbook and
        the ids of the rules that differ from the catalogue (their recorded hits are stale)."""
        docs = [p for p in policies if not isinstance(p, Policy)]  # saved ones were checked
        errors = PlaybookLoader(self).check({"rules": list(rules), "policies": docs})
        if errors:
            raise InvalidInput(errors)
        current = {r.id: r for r in self.store.rules()}
        changed: set[str] = set()
        for doc in rules:
            rule = rule_from_dict(doc, known_types=EVENT_TYPES)
            before = current.get(rule.id)
            if before is not None and _same_rule(before, rule):
                continue
            changed.add(rule.id)
            current[rule.id] = replace(rule, version=(before.version + 1) if before else 1)
        every = self.store.policies()
        chosen = [
            p
            if isinstance(p, Policy)
            else policy_from_dict(
                {**p, "author": p.get("author") or "candidate"}, known_types=EVENT_TYPES
            )
            for p in policies
        ]
        missing = [
            FieldError(f"policies[{i}].rules", f"unknown rule {r!r}")
            for i, p in enumerate(chosen)
            for r in p.rules or ()
            if r not in current
        ]
        if missing:
            raise InvalidInput(missing)
        covered = {t for p in chosen for t in p.event_types}
        kept = [
            p
            for p in every
            if p.id not in {c.id for c in chosen}
            and not (p.status is PolicyStatus.ACTIVE and covered & set(p.event_types))
        ]
        latest: dict[str, Policy] = {}
        for p in every:
            if p.id not in latest or p.version > latest[p.id].version:
                latest[p.id] = p

        def version_of(c: Policy, given: Any) -> int:
            """A saved version keeps its number; a document is the next version of its
            policy, unless it is the latest version as it stands (applying it saves nothing)."""
            if isinstance(given, Policy):
                return c.version
            last = latest.get(c.id)
            if last is None:
                return 1
            same = _same_policy(last, c.with_(status=PolicyStatus.ACTIVE))
            return last.version if same else last.version + 1

        fresh = [
            c.with_(status=PolicyStatus.ACTIVE, version=version_of(c, given))
            for c, given in zip(chosen, policies, strict=True)
        ]
        playbook = self._assemble(-1, list(current.values()), [*kept, *fresh])
        return playbook, frozenset(changed)

    def _assemble(self, seq: int, rules: Sequence[Rule], policies: Sequence[Policy]) -> Playbook:
        defs = self.store.lists()
        index = ListIndex(defs, self.store.entries())
        vocabularies = self.vocabularies([d.name for d in defs])
        compiled: dict[str, CompiledRule] = {}
        for rule in rules:
            if rule.status is Status.DISABLED:
                continue
            try:
                compiled[rule.id] = compile_rule(rule, vocabularies)
            except InvalidDefinition as exc:
                # Saved rules compiled when saved; a feature removed since can break one.
                log.error("rule %s@%d no longer compiles, skipped: %s", rule.id, rule.version, exc)
        active: dict[str, PolicyPlan] = {}
        shadows: dict[str, list[PolicyPlan]] = {}
        for policy in policies:
            if policy.status is PolicyStatus.RETIRED:
                continue
            for t in policy.event_types:
                plan = PolicyPlan(policy, self._rules_of(policy, t, compiled))
                if policy.status is PolicyStatus.ACTIVE:
                    active[t] = plan
                else:
                    shadows.setdefault(t, []).append(plan)
        return Playbook(seq, vocabularies, active, shadows, index)

    @staticmethod
    def _rules_of(
        policy: Policy, event_type: str, compiled: Mapping[str, CompiledRule]
    ) -> tuple[CompiledRule, ...]:
        if policy.rules is not None:
            chosen = [compiled[r] for r in policy.rules if r in compiled]
        else:
            chosen = sorted(
                (c for c in compiled.values() if event_type in c.rule.event_types),
                key=lambda c: (c.rule.priority, c.rule.id),
            )
        return tuple(c for c in chosen if event_type in c.programs)

    def _audit(self, actor: str, action: str, kind: str, key: str, **detail: Any) -> AuditEntry:
        return AuditEntry(actor, action, kind, key, detail, self.clock())

    # -- rules ----------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        return self.store.rules()

    def rule(self, rule_id: str) -> Rule:
        return self.rule_history(rule_id)[-1]

    def rule_history(self, rule_id: str) -> list[Rule]:
        history = self.store.rule_history(rule_id)
        if not history:
            raise NotFound("rule", rule_id)
        return history

    def check_rule(self, doc: Any) -> Rule:
        """Parse and type-check without saving (``riskloop rules validate``, the editor)."""
        rule = rule_from_dict(doc, known_types=EVENT_TYPES)
        names = [d.name for d in self.store.lists()]
        compile_rule(rule, self.vocabularies(names))
        return rule

    def save_rule(self, doc: Any) -> Rule:
        """Create a rule, or save the next version of it; ``author`` is required."""
        actor = _actor(doc if isinstance(doc, dict) else {})
        rule = self.check_rule(doc)
        history = self.store.rule_history(rule.id)
        version = history[-1].version + 1 if history else 1
        saved = replace(rule, version=version, author=actor, saved_at=self.clock())
        self.store.save_rule(
            saved,
            self._audit(
                actor,
                "rule.update" if history else "rule.create",
                "rule",
                f"{rule.id}@{version}",
                note=rule.note,
                rule=saved.as_dict(),
                previous=history[-1].as_dict() if history else None,
            ),
        )
        self.refresh(force=True)
        return saved

    def set_rule_status(self, rule_id: str, status: str, author: str, note: str = "") -> Rule:
        current = self.rule(rule_id)
        doc = {**current.as_dict(), "status": status, "author": author, "note": note}
        for k in ("version", "saved_at"):
            doc.pop(k)
        return self.save_rule(doc)

    # -- lists ----------------------------------------------------------------------------

    def lists(self) -> list[ListDef]:
        return self.store.lists()

    def list_def(self, name: str) -> ListDef:
        found = next((d for d in self.store.lists() if d.name == name), None)
        if found is None:
            raise NotFound("list", name)
        return found

    def save_list(self, doc: Any) -> ListDef:
        actor = _actor(doc if isinstance(doc, dict) else {})
        definition = list_from_dict(doc)
        existing = next((d for d in self.store.lists() if d.name == definition.name), None)
        if existing is not None and existing.type is not definition.type:
            raise ConflictError("list", definition.name, "its type cannot change; make a new list")
        self.store.save_list(
            definition,
            self._audit(
                actor,
                "list.update" if existing else "list.create",
                "list",
                definition.name,
                list=definition.as_dict(),
            ),
        )
        self.refresh(force=True)
        return definition

    def delete_list(self, name: str, author: str) -> None:
        self.list_def(name)
        users = [
            r.id
            for r in self.store.rules()
            if r.status is not Status.DISABLED and name in _LIST_REF.findall(r.expression)
        ]
        if users:
            raise ConflictError("list", name, f"used by rules {', '.join(sorted(users))}")
        self.store.delete_list(name, self._audit(author, "list.delete", "list", name))
        self.refresh(force=True)

    def add_entries(self, name: str, docs: Any, author: str) -> int:
        """Validate every entry first; store all or nothing. Errors name ``entries[i].field``."""
        definition = self.list_def(name)
        if not isinstance(docs, list) or not docs:
            raise InvalidInput([FieldError("entries", "must be a non-empty list")])
        if len(docs) > 100_000:
            raise InvalidInput([FieldError("entries", "at most 100000 entries per request")])
        now = self.clock()
        entries: list[ListEntry] = []
        errors: list[FieldError] = []
        for i, doc in enumerate(docs):
            if not isinstance(doc, dict):
                errors.append(FieldError(f"entries[{i}]", "must be an object"))
                continue
            unknown = sorted(set(doc) - {"value", "reason", "expires_at"})
            errors.extend(FieldError(f"entries[{i}].{k}", "unknown field") for k in unknown)
            try:
                value = normalise_value(definition.type, doc.get("value"), self.protector)
            except ValueError as exc:
                errors.append(FieldError(f"entries[{i}].value", str(exc)))
                continue
            reason = doc.get("reason", "")
            if not isinstance(reason, str) or len(reason) > 500:
                errors.append(FieldError(f"entries[{i}].reason", "must be text (max 500)"))
                continue
            try:
                expires = _when(doc.get("expires_at"), f"entries[{i}].expires_at")
            except InvalidInput as exc:
                errors.extend(exc.errors)
                continue
            entries.append(ListEntry(name, value, reason, author, now, expires))
        if errors:
            raise InvalidInput(errors[:100])
        # ``de`` and ``DE`` normalise to one value: the later entry of a request wins.
        entries = list({e.value: e for e in entries}.values())
        n = self.store.add_entries(
            entries,
            self._audit(author, "list.entries.add", "list", name, count=len(entries)),
        )
        self.refresh(force=True)
        return n

    def remove_entries(self, name: str, values: Any, author: str) -> int:
        definition = self.list_def(name)
        if not isinstance(values, list) or not values:
            raise InvalidInput([FieldError("values", "must be a non-empty list")])
        normalised = []
        for i, v in enumerate(values):
            try:
                normalised.append(normalise_value(definition.type, v, self.protector))
            except ValueError as exc:
                raise InvalidInput([FieldError(f"values[{i}]", str(exc))]) from None
        n = self.store.remove_entries(
            name,
            normalised,
            self._audit(author, "list.entries.remove", "list", name, count=len(normalised)),
        )
        self.refresh(force=True)
        return n

    def entries(self, name: str) -> list[ListEntry]:
        self.list_def(name)
        return self.store.entries(name)

    # -- policies -------------------------------------------------------------------------

    def policies(self) -> list[Policy]:
        return self.store.policies()

    def policy_versions(self, policy_id: str) -> list[Policy]:
        found = [p for p in self.store.policies() if p.id == policy_id]
        if not found:
            raise NotFound("policy", policy_id)
        return found

    def save_policy(self, doc: Any) -> Policy:
        """Save the next version. ``status: active`` (the default) makes it the one active
        version (the previous active version goes to shadow); ``shadow`` runs it beside."""
        actor = _actor(doc if isinstance(doc, dict) else {})
        policy = policy_from_dict(doc, known_types=EVENT_TYPES)
        known = {r.id for r in self.store.rules()}
        missing = [
            FieldError(f"rules[{i}]", f"unknown rule {r!r}")
            for i, r in enumerate(policy.rules or ())
            if r not in known
        ]
        if missing:
            raise InvalidInput(missing)
        every = self.store.policies()
        versions = [p for p in every if p.id == policy.id]
        version = versions[-1].version + 1 if versions else 1
        if policy.status is PolicyStatus.ACTIVE:
            self._check_exclusive(policy, every)
        saved = policy.with_(version=version, author=actor, saved_at=self.clock())
        audit = self._audit(
            actor, "policy.create", "policy", saved.version_id, policy=saved.as_dict()
        )
        self.store.save_policy(saved, audit)
        if saved.status is PolicyStatus.ACTIVE:
            demote = [
                (p.id, p.version, PolicyStatus.SHADOW)
                for p in versions
                if p.status is PolicyStatus.ACTIVE
            ]
            if demote:
                self.store.set_policy_status(
                    demote,
                    self._audit(
                        actor,
                        "policy.demote",
                        "policy",
                        policy.id,
                        versions=[v for _, v, _ in demote],
                        to="shadow",
                    ),
                )
        self.refresh(force=True)
        return saved

    @staticmethod
    def _check_exclusive(policy: Policy, every: Sequence[Policy]) -> None:
        for other in every:
            if other.id == policy.id or other.status is not PolicyStatus.ACTIVE:
                continue
            shared = sorted(set(other.event_types) & set(policy.event_types))
            if shared:
                raise ConflictError(
                    "policy",
                    policy.id,
                    f"{other.version_id} is already active for {', '.join(shared)}",
                )

    def set_policy_status(
        self, policy_id: str, version: int, status: str, author: str, note: str = ""
    ) -> Policy:
        versions = self.policy_versions(policy_id)
        target = next((p for p in versions if p.version == version), None)
        if target is None:
            raise NotFound("policy", f"{policy_id}@{version}")
        try:
            new = PolicyStatus(status)
        except ValueError:
            raise InvalidInput(
                [FieldError("status", "must be active, shadow or retired")]
            ) from None
        changes = [(policy_id, version, new)]
        if new is PolicyStatus.ACTIVE:
            self._check_exclusive(target, self.store.policies())
            changes += [
                (p.id, p.version, PolicyStatus.SHADOW)
                for p in versions
                if p.status is PolicyStatus.ACTIVE and p.version != version
            ]
        self.store.set_policy_status(
            changes,
            self._audit(
                author, f"policy.{new.value}", "policy", f"{policy_id}@{version}", note=note
            ),
        )
        self.refresh(force=True)
        return target.with_(status=new)


# -- playbook files: lists, rules and policies in one YAML or JSON document ------------------

_RULE_KEYS = ("expression", "reason", "action", "description", "owner", "priority")


def playbook_sections(doc: Any) -> dict[str, list[Any]]:
    """``{"lists": [...], "rules": [...], "policies": [...]}`` from a playbook document (or a
    bare list of rules)."""
    if isinstance(doc, list):
        doc = {"rules": doc}
    if not isinstance(doc, dict):
        raise InvalidInput([FieldError("file", "expected a mapping with lists, rules, policies")])
    unknown = sorted(set(doc) - {"lists", "rules", "policies"})
    if unknown:
        raise InvalidInput([FieldError(k, "unknown section") for k in unknown])
    out: dict[str, list[Any]] = {}
    for key in ("lists", "rules", "policies"):
        items = doc.get(key) or []
        if not isinstance(items, list):
            raise InvalidInput([FieldError(key, "must be a list")])
        out[key] = items
    return out


def _same_rule(a: Rule, b: Rule) -> bool:
    return all(getattr(a, k) == getattr(b, k) for k in (*_RULE_KEYS, "status", "event_types"))


class PlaybookLoader:
    """Check or apply a playbook file. Applying is idempotent: what is unchanged is not
    saved again (no new version, no audit entry), so a file can be re-applied safely."""

    def __init__(self, catalog: CatalogService) -> None:
        self.catalog = catalog

    def check(self, doc: Any) -> list[FieldError]:
        """Every problem in the file, each named ``rules[3].expression`` and so on."""
        sections = playbook_sections(doc)
        errors: list[FieldError] = []
        names = {d.name for d in self.catalog.lists()}
        for i, item in enumerate(sections["lists"]):
            try:
                names.add(
                    list_from_dict(
                        {**item, "author": "check"} if isinstance(item, dict) else item
                    ).name
                )
            except InvalidInput as exc:
                errors.extend(exc.prefixed(f"lists[{i}]").errors)
        vocabularies = self.catalog.vocabularies(sorted(names))
        for i, item in enumerate(sections["rules"]):
            try:
                compile_rule(rule_from_dict(item, known_types=EVENT_TYPES), vocabularies)
            except InvalidInput as exc:
                errors.extend(exc.prefixed(f"rules[{i}]").errors)
            except InvalidDefinition as exc:
                errors.append(FieldError(f"rules[{i}].{exc.where}", exc.reason))
        for i, item in enumerate(sections["policies"]):
            try:
                policy_from_dict(
                    {**item, "author": "check"} if isinstance(item, dict) else item,
                    known_types=EVENT_TYPES,
                )
            except InvalidInput as exc:
                errors.extend(exc.prefixed(f"policies[{i}]").errors)
        return errors

    def apply(self, doc: Any, author: str) -> dict[str, int]:
        errors = self.check(doc)
        if errors:
            raise InvalidInput(errors)
        sections = playbook_sections(doc)
        counts = {"lists": 0, "rules": 0, "policies": 0, "unchanged": 0}
        existing_lists = {d.name: d for d in self.catalog.lists()}
        for item in sections["lists"]:
            definition = list_from_dict({**item, "author": author})
            if existing_lists.get(definition.name) == definition:
                counts["unchanged"] += 1
                continue
            self.catalog.save_list({**item, "author": author})
            counts["lists"] += 1
        current = {r.id: r for r in self.catalog.rules()}
        for item in sections["rules"]:
            rule = rule_from_dict(item, known_types=EVENT_TYPES)
            if rule.id in current and _same_rule(current[rule.id], rule):
                counts["unchanged"] += 1
                continue
            self.catalog.save_rule({**item, "author": author})
            counts["rules"] += 1
        policies = self.catalog.policies()
        for item in sections["policies"]:
            policy = policy_from_dict({**item, "author": author}, known_types=EVENT_TYPES)
            latest = [p for p in policies if p.id == policy.id]
            if latest and _same_policy(latest[-1], policy):
                counts["unchanged"] += 1
                continue
            self.catalog.save_policy({**item, "author": author})
            counts["policies"] += 1
        return counts


def _same_policy(a: Policy, b: Policy) -> bool:
    keys = (
        "event_types",
        "rules",
        "thresholds",
        "mode",
        "allow_overrides_block",
        "step_up_method",
        "status",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keys)
