"""`soc share` and `soc intel` commands, end to end on a real state database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from soc.cli import common
from soc.cli.main import app
from soc.storage.state import State
from tests.sharing.conftest import make_incident


@pytest.fixture
def env(tmp_path):
    common.state._settings = None
    url = f"sqlite:///{tmp_path / 'state.db'}"
    yield {"SOC_DATA_DIR": str(tmp_path), "SOC_STORAGE__STATE_URL": url, "SOC_INVENTORY": str(tmp_path / "none.yaml")}
    common.state._settings = None


def test_share_export_and_intel_add_list(env, tmp_path):
    st = State(env["SOC_STORAGE__STATE_URL"])
    iid = make_incident(st)
    st.dispose()
    runner = CliRunner()
    out = tmp_path / "b.json"
    r = runner.invoke(app, ["share", "export", str(iid), "-o", str(out), "--publish"], env=env)
    assert r.exit_code == 0, r.output
    bundle = json.loads(out.read_text())
    assert bundle["type"] == "bundle" and any(o["type"] == "incident" for o in bundle["objects"])
    r = runner.invoke(app, ["share", "export", "999"], env=env)
    assert r.exit_code == 1 and "incident 999 not found" in r.output
    r = runner.invoke(app, ["intel", "add", "198.51.100.9", "--tlp", "amber", "--name", "scanner"], env=env)
    assert r.exit_code == 0 and "added ipv4 198.51.100.9" in r.output, r.output
    r = runner.invoke(app, ["intel", "add", "not a domain!"], env=env)
    assert r.exit_code == 1 and "not a domain" in r.output
    r = runner.invoke(app, ["intel", "list", "-i"], env=env)
    assert r.exit_code == 0 and "198.51.100.9" in r.output and "AMBER" in r.output
    r = runner.invoke(app, ["intel", "pull"], env=env)
    assert r.exit_code == 78 and "no feeds configured" in r.output


def test_share_push_to_real_taxii_server(env, taxii_server):
    pytest.importorskip("soc.incidents.delivery")
    st = State(env["SOC_STORAGE__STATE_URL"])
    iid = make_incident(st)
    st.dispose()
    cid = taxii_server["collections"]["push4"]
    dest = (f'[{{name="ncsc", channel="taxii", api_root="{taxii_server["api_root"]}", collection="{cid}", '
            f'username="{taxii_server["user"]}", password="{taxii_server["password"]}"}}]')
    r = CliRunner().invoke(app, ["share", "push", str(iid)], env={**env, "SOC_SHARING__DESTINATIONS": dest})
    assert r.exit_code == 0, r.output
    assert "queued for ncsc (taxii)" in r.output and "sent" in r.output
    assert taxii_server["password"] not in r.output
    r = CliRunner().invoke(app, ["share", "status", str(iid)], env={**env, "SOC_SHARING__DESTINATIONS": dest})
    assert r.exit_code == 0 and "sent" in r.output
