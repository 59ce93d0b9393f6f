"""Playbooks and regulatory profiles: the shipped ones load; bad ones are refused with file, field and reason."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from soc.incidents.playbooks import CATEGORIES, PlaybookError, categorise, load_playbooks
from soc.incidents.profiles import ProfileError, load_profile

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"


def test_shipped_playbooks_cover_every_category() -> None:
    pbs = load_playbooks(PLAYBOOKS)
    assert set(pbs) == set(CATEGORIES)
    for pb in pbs.values():
        assert {s.layer for s in pb.steps} == {1, 2, 3, 4}, pb.category
        assert "initial" in pb.notices and "escalation" in pb.notices


@pytest.fixture
def pbdir(tmp_path: Path) -> Path:
    d = tmp_path / "playbooks"
    shutil.copytree(PLAYBOOKS, d)
    return d


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_unknown_step_type_is_rejected(pbdir: Path) -> None:
    _edit(pbdir / "malware.yaml", "type: contain", "type: run_shell")
    with pytest.raises(PlaybookError) as exc:
        load_playbooks(pbdir)
    msg = str(exc.value)
    assert "malware.yaml" in msg and "steps." in msg and ".type" in msg and "run_shell" not in msg.split(":")[0]


def test_unknown_template_variable_is_rejected(pbdir: Path) -> None:
    _edit(pbdir / "dos.yaml", "{{ incident.ref }}", "{{ secret_key }}")
    with pytest.raises(PlaybookError) as exc:
        load_playbooks(pbdir)
    assert "dos.yaml: notices.initial.subject.vi: unknown variable 'secret_key'" in str(exc.value)


def test_unknown_field_of_known_variable_is_rejected(pbdir: Path) -> None:
    _edit(pbdir / "phishing.yaml", "{{ incident.t0_local }}", "{{ incident.password }}")
    with pytest.raises(PlaybookError) as exc:
        load_playbooks(pbdir)
    assert "phishing.yaml: notices.initial.body.vi: unknown field incident.password" in str(exc.value)


def test_sandbox_attribute_tricks_are_rejected(pbdir: Path) -> None:
    _edit(pbdir / "dos.yaml", "{{ incident.ref }}", "{{ incident.__class__ }}")
    with pytest.raises(PlaybookError, match="unknown field incident.__class__"):
        load_playbooks(pbdir)


def test_invalid_contact_address_is_rejected(pbdir: Path) -> None:
    _edit(pbdir / "web_attack.yaml", "\nescalation:\n", "\nescalation:\n  extra_contacts: [{name: X, email: not-an-address}]\n")
    with pytest.raises(PlaybookError) as exc:
        load_playbooks(pbdir)
    assert "web_attack.yaml: escalation.extra_contacts.0.email" in str(exc.value)


def test_python_yaml_tags_are_not_executed(pbdir: Path) -> None:
    (pbdir / "default.yaml").write_text("category: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(PlaybookError, match="default.yaml: not valid YAML"):
        load_playbooks(pbdir)


def test_syntax_error_in_template(pbdir: Path) -> None:
    _edit(pbdir / "brute_force.yaml", "{{ incident.ref }}", "{{ incident.ref ")
    with pytest.raises(PlaybookError, match="brute_force.yaml: notices.initial.subject.vi: template syntax error"):
        load_playbooks(pbdir)


def test_categorise_by_tags_and_whole_words() -> None:
    pbs = load_playbooks(PLAYBOOKS)
    assert categorise("SSH brute force", [], pbs) == "brute_force"
    assert categorise("Something", ["attack.T1110"], pbs) == "brute_force"
    assert categorise("SQL injection attempt", ["attack.t1190"], pbs) == "web_attack"
    assert categorise("Large upload to rare domain", ["attack.exfiltration"], pbs) == "data_exfiltration"
    assert categorise("Windows service installed", [], pbs) == "default"  # "dos" is not a word of "windows"
    assert categorise("DDoS on portal", [], pbs) == "dos"


def test_profiles_deadlines() -> None:
    t0 = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
    p26 = load_profile(PLAYBOOKS, "vn-2026")
    d = p26.compute_deadlines(t0=t0, resolved_at=None, serious=True, national_security=False, personal_data=False)
    assert datetime.fromisoformat(d["initial_notice"]["due"]) == t0 + timedelta(hours=24)
    assert datetime.fromisoformat(d["cause_scope_remedy"]["due"]) == t0 + timedelta(hours=72)
    assert d["final_report"]["due"] is None and "immediate" not in d
    d = p26.compute_deadlines(t0=t0, resolved_at=None, serious=False, national_security=True, personal_data=False)
    assert d["immediate"]["due"] == t0.isoformat() and "initial_notice" not in d
    p17 = load_profile(PLAYBOOKS, "vn-2017")
    end = t0 + timedelta(days=2)
    d = p17.compute_deadlines(t0=t0, resolved_at=end, serious=False, national_security=False, personal_data=False)
    assert datetime.fromisoformat(d["notify"]["due"]) == t0 + timedelta(days=5)
    assert datetime.fromisoformat(d["final_report"]["due"]) == end + timedelta(days=5)
    assert p17.is_serious(4, ["service_disruption"]) and not p17.is_serious(3, ["service_disruption"])
    assert not p17.is_serious(5, [])


def test_bad_profile_is_reported(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    src = (PLAYBOOKS / "profiles" / "vn-2026.yaml").read_text(encoding="utf-8")
    (tmp_path / "profiles" / "vn-2026.yaml").write_text(src.replace("minutes: 1440", "minutes: -5"), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"(?s)vn-2026.yaml: .*deadlines.1.minutes: Input should be greater"):
        load_profile(tmp_path, "vn-2026")
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path, "vn-2030")
