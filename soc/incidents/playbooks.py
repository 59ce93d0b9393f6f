"""Response playbooks (``playbooks/<category>.yaml``): steps per protection layer, notice templates, SLAs.

Playbooks are data written by the SOC team, so loading is defensive: safe YAML,
pydantic with unknown keys forbidden, and every notice template compiled in a
Jinja2 sandbox and checked against the variables notices actually provide, so a
typo fails at load time (``soc playbooks check``) with the file, field and reason
instead of at 3 a.m. when a notice has to go out.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, ValidationError, field_validator

from soc.incidents.profiles import IMPACTS

CATEGORIES = ("data_exfiltration", "malware", "web_attack", "dos", "phishing", "brute_force", "unauthorized_access",
              "policy_violation", "default")
"""Also the precedence when an incident's alerts point to several categories (most specific first)."""
SEVERITIES = ("low", "medium", "high", "critical")
STEP_TYPES = ("notify", "acknowledge", "triage", "investigate", "contain", "eradicate", "recover", "report",
              "share", "assess", "document", "verify")
NOTICE_KINDS = ("initial", "escalation", "update", "final")

#: Variables a notice template may use, with the attributes each offers (``None``: any use, e.g. lists to loop on).
TEMPLATE_VARS: dict[str, frozenset[str] | None] = {
    "incident": frozenset({"ref", "title", "category", "severity", "severity_vi", "serious", "status", "t0",
                           "t0_local", "entity", "system_name", "system_level", "agency_name", "alert_count",
                           "tactics", "url", "summary"}),
    "agency": frozenset({"id", "name", "name_en"}),
    "contact": frozenset({"name", "tier"}),
    "profile": frozenset({"name", "version", "authority_vi", "authority_en"}),
    "soc": frozenset({"name", "email", "phone"}),
    "ack_url": frozenset(),
    "ack_due_local": frozenset(),
    "deadlines": None,
    "steps": None,
}


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when available (10x faster), else the pure-Python one; never a full loader."""


class PlaybookError(Exception):
    """One or more playbooks are invalid; the message lists ``file: field: reason`` lines."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text2(_Strict):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Step(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    layer: int = Field(ge=1, le=4)
    type: Literal[STEP_TYPES]  # type: ignore[valid-type]
    title: Text2
    due_minutes: int | None = Field(default=None, ge=0)


class NoticeTemplate(_Strict):
    subject: Text2
    body: Text2


class SlaLevel(_Strict):
    """Minutes from T0 for each layer-2 milestone."""

    ack: int = Field(ge=1)
    """Layer-1 acknowledgement; after this the notice escalates to the next contact."""
    triage: int = Field(ge=1)
    contain: int = Field(ge=1)
    resolve: int = Field(ge=1)


class ExtraContact(_Strict):
    name: str
    email: EmailStr | None = None
    webhook: HttpUrl | None = None


class Escalation(_Strict):
    chain: list[Literal["layer1.primary", "layer1.backup", "soc_lead"]] = ["layer1.primary", "layer1.backup",
                                                                          "soc_lead"]
    extra_contacts: list[ExtraContact] = []
    """Also copied on every notice of this category (a specialist team, for instance)."""


class Match(_Strict):
    tags: list[str] = []
    """Rule tags (case-insensitive) that put an alert in this category."""
    keywords: list[str] = []
    """Words in the rule name (case-insensitive)."""


class Playbook(_Strict):
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    version: int = Field(ge=1)
    title: Text2
    match: Match = Match()
    impacts: list[Literal[IMPACTS]] = []  # type: ignore[valid-type]
    """Impact types an incident of this category has by default (they feed the serious-incident test)."""
    notify_min_severity: Literal[SEVERITIES] = "medium"  # type: ignore[valid-type]
    """Layer-1 notices go out for incidents at least this severe (or serious)."""
    sla: dict[Literal[SEVERITIES], SlaLevel]  # type: ignore[valid-type]
    steps: list[Step] = Field(min_length=1)
    notices: dict[Literal[NOTICE_KINDS], NoticeTemplate]  # type: ignore[valid-type]
    escalation: Escalation = Escalation()

    @field_validator("sla")
    @classmethod
    def _all_severities(cls, v: dict[str, SlaLevel]) -> dict[str, SlaLevel]:
        missing = [s for s in SEVERITIES if s not in v]
        if missing:
            raise ValueError(f"missing severities: {', '.join(missing)}")
        return v

    @field_validator("notices")
    @classmethod
    def _initial(cls, v: dict[str, NoticeTemplate]) -> dict[str, NoticeTemplate]:
        if "initial" not in v:
            raise ValueError("an 'initial' notice template is required")
        return v

    def steps_for(self, layer: int) -> list[Step]:
        return [s for s in self.steps if s.layer == layer]


def template_env() -> SandboxedEnvironment:
    """The sandbox notices render in: no attribute tricks, undefined names are errors."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def check_template(env: SandboxedEnvironment, source: str) -> list[str]:
    """Problems with one template: syntax, unknown variables, unknown attributes of known ones."""
    return list(_check_template(source))


@lru_cache(maxsize=2048)
def _check_template(source: str) -> tuple[str, ...]:
    """Cached by source: playbooks share most of their notice text. Parsing needs no runtime state."""
    env = template_env()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return (f"template syntax error line {exc.lineno}: {exc.message}",)
    problems = []
    for name in sorted(meta.find_undeclared_variables(ast)):
        if name not in TEMPLATE_VARS:
            problems.append(f"unknown variable {name!r} (allowed: {', '.join(sorted(TEMPLATE_VARS))})")
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        base = node.node
        if not isinstance(base, nodes.Name) or base.name not in TEMPLATE_VARS:
            continue
        allowed = TEMPLATE_VARS[base.name]
        if allowed is None:
            continue
        if isinstance(node, nodes.Getattr):
            attr: Any = node.attr
        elif isinstance(node.arg, nodes.Const):
            attr = node.arg.value
        else:
            continue
        if attr not in allowed:
            problems.append(f"unknown field {base.name}.{attr} (allowed: {', '.join(sorted(allowed)) or 'none'})")
    return tuple(problems)


def _validate_file(path: Path, env: SandboxedEnvironment) -> tuple[Playbook | None, list[str]]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        return None, [f"{path}: not valid YAML: {exc}"]
    except UnicodeDecodeError:
        return None, [f"{path}: not UTF-8 text"]
    if not isinstance(raw, dict):
        return None, [f"{path}: (top): expected a mapping of playbook fields"]
    try:
        pb = Playbook.model_validate(raw)
    except ValidationError as exc:
        return None, [f"{path}: {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
    problems = []
    if pb.category != path.stem:
        problems.append(f"{path}: category: is {pb.category!r} but the file is named {path.stem!r}.yaml")
    ids = [s.id for s in pb.steps]
    if len(set(ids)) != len(ids):
        problems.append(f"{path}: steps: step ids must be unique")
    for kind, tpl in pb.notices.items():
        for part in ("subject", "body"):
            text: Text2 = getattr(tpl, part)
            for lang in ("vi", "en"):
                for p in check_template(env, getattr(text, lang)):
                    problems.append(f"{path}: notices.{kind}.{part}.{lang}: {p}")
    return (pb if not problems else None), problems


def load_playbooks(directory: str | Path) -> dict[str, Playbook]:
    """Load and validate every ``<category>.yaml`` in ``directory``; raise :class:`PlaybookError` on any problem."""
    d = Path(directory)
    if not d.is_dir():
        raise PlaybookError(f"{d}: playbooks folder not found; set incidents.playbooks_dir in soc.toml")
    env = template_env()
    out: dict[str, Playbook] = {}
    problems: list[str] = []
    for path in sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml")):
        pb, errs = _validate_file(path, env)
        problems.extend(errs)
        if pb is not None:
            out[pb.category] = pb
    if "default" not in out and not any("default." in p for p in problems):
        problems.append(f"{d}: default.yaml: missing; the default playbook handles uncategorised incidents")
    if problems:
        raise PlaybookError(f"{len(problems)} problem(s) in playbooks:\n" + "\n".join(f"  - {p}" for p in problems))
    return out


def categorise(rule_name: str, tags: list[str], playbooks: dict[str, Playbook]) -> str:
    """The category of an alert from its rule tags and name.

    Evidence is weighed from the most to the least specific: ATT&CK technique tags
    (``attack.t1110``), then words of the rule name, then tactic and other tags
    (``attack.persistence`` fits many categories); within a kind, the category
    precedence of :data:`CATEGORIES` decides.
    """
    name = rule_name.lower()
    low_tags = {str(t).lower() for t in tags}
    techniques = {t for t in low_tags if _TECHNIQUE.match(t)}
    others = low_tags - techniques
    ordered = [playbooks[c] for c in CATEGORIES if c in playbooks and c != "default"]
    for pb in ordered:
        if techniques & {t.lower() for t in pb.match.tags}:
            return pb.category
    for pb in ordered:
        if any(_word(k).search(name) for k in pb.match.keywords):
            return pb.category
    for pb in ordered:
        if others & {t.lower() for t in pb.match.tags}:
            return pb.category
    return "default"


_TECHNIQUE = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")


@lru_cache(maxsize=1024)
def _word(keyword: str) -> re.Pattern[str]:
    """Keyword as a whole word or phrase ("dos" must not match "windows")."""
    return re.compile(r"(?<!\w)" + re.escape(keyword.strip().lower()) + r"(?!\w)")


def precedence(category: str) -> int:
    return CATEGORIES.index(category) if category in CATEGORIES else len(CATEGORIES)


def render(env: SandboxedEnvironment, source: str, context: dict[str, Any]) -> str:
    return env.from_string(source).render(**context)
