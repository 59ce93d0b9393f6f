from soc.incidents.delivery import OutboxWorker

def test_smoke(env):
    incs = env.alert("SSH brute force", tags=["attack.credential_access", "attack.t1110"])
    assert len(incs) == 1
    w = OutboxWorker(env.settings, env.state)
    print(w.run_once())
    for rcpt, m in env.box.messages:
        print(rcpt, m["Subject"], m["Message-ID"])
        print(m.get_content())
    print(env.hooks.requests[0]["headers"])
