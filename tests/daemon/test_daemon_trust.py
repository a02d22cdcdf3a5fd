"""repository.verify in the daemon (issue 11, DESIGN.md §7): only a head signed by a trusted key is
applied.  Real commits signed by git with ssh-keygen and gpg; unsigned, unknown-key and tampered
heads are refused, each with its own reason in /status, the last good state kept, each refused head
logged and counted once; a following trusted commit applies."""
import os
import shutil
import subprocess
import time

import pytest

from daemon_helpers import World, function_manifest, wait_for

pytestmark = pytest.mark.skipif(not (shutil.which("ssh-keygen") and shutil.which("gpg")),
                                reason="needs ssh-keygen and gpg")


def run(*args, env=None):
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "%s: %s%s" % (args, r.stdout, r.stderr)
    return r.stdout


class SshSigner:
    provider = "ssh"

    def __init__(self, tmp):
        self.tmp = tmp
        self.trust_file = os.path.join(tmp, "allowed_signers")
        self.fp = {}
        for name in ("alice", "bob"):
            key = os.path.join(tmp, name)
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key)
            self.fp[name] = run("ssh-keygen", "-l", "-f", key + ".pub").split()[1]
        with open(self.trust_file, "w") as f:
            f.write("alice@example.com %s\n" % open(os.path.join(tmp, "alice.pub")).read().strip())
        self.trusted_signer = "alice@example.com"

    def config(self):
        return "  verify: {provider: ssh, allowedSignersFile: %s}" % self.trust_file

    def key_of(self, name):
        return self.fp[name]

    def args(self, name):
        return ["-c", "gpg.format=ssh", "-c", "user.signingkey=" + os.path.join(self.tmp, name)], {}

    def close(self):
        pass


class GpgSigner:
    provider = "gpg"

    def __init__(self, tmp):
        self.tmp = tmp
        self.trust_file = os.path.join(tmp, "trusted-keys.asc")
        self.homes, self.fp = {}, {}
        for name in ("alice", "bob"):
            home = os.path.join(tmp, "gpg-" + name)
            os.makedirs(home, mode=0o700)
            env = dict(os.environ, GNUPGHOME=home)
            run("gpg", "-q", "--batch", "--passphrase", "", "--quick-gen-key", "%s@example.com" % name,
                "ed25519", "sign", "never", env=env)
            self.fp[name] = [ln.split(":")[9] for ln in run("gpg", "--batch", "--with-colons", "--list-keys",
                                                            env=env).splitlines() if ln.startswith("fpr:")][0]
            self.homes[name] = home
        with open(self.trust_file, "w") as f:
            f.write(run("gpg", "--batch", "--armor", "--export", self.fp["alice"],
                        env=dict(os.environ, GNUPGHOME=self.homes["alice"])))
        self.trusted_signer = "alice@example.com"

    def config(self):
        return "  verify: {provider: gpg, keyringFile: %s}" % self.trust_file

    def key_of(self, name):
        return self.fp[name]

    def args(self, name):
        return (["-c", "gpg.format=openpgp", "-c", "user.signingkey=%s@example.com" % name],
                {"GNUPGHOME": self.homes[name]})

    def close(self):
        for home in list(self.homes.values()) + [os.path.join(self.tmp, "state", "gnupg")]:
            subprocess.run(["gpgconf", "--kill", "all"], env=dict(os.environ, GNUPGHOME=home),
                           capture_output=True, timeout=30)


@pytest.fixture
def world(aliasd_bin, emulator, tmp_path):
    w = World(aliasd_bin, emulator, tmp_path)
    yield w
    w.close()


def commit(repo, signer, who, message, push=True):
    """Commit the work tree, signed by `who` (None: unsigned); returns the id."""
    repo.git("add", "-A")
    if who is None:
        repo.git("commit", "-q", "-m", message)
    else:
        cfg, env = signer.args(who)
        saved = repo.env
        repo.env = dict(saved, **env)
        try:
            repo.git(*cfg, "commit", "-q", "-S", "-m", message)
        finally:
            repo.env = saved
    if push:
        repo.git("push", "-q", "-f", "origin", "main")
    return repo.git("rev-parse", "HEAD")


def tamper_signature(text):
    """One base64 character of the signature's last full line changed."""
    lines = text.split("\n")
    end = next(i for i, ln in enumerate(lines) if ln.startswith(" -----END "))
    i = end - 1 if len(lines[end - 1]) > 12 else end - 2
    ln = lines[i]
    mid = len(ln) // 2
    lines[i] = ln[:mid] + ("B" if ln[mid] == "A" else "A") + ln[mid + 1:]
    return "\n".join(lines)


def tampered_commit(repo, signer, message):
    """A commit signed by the trusted key whose signature was then altered, pushed as the head."""
    good = commit(repo, signer, "alice", message, push=False)
    raw = repo.git("cat-file", "commit", good) + "\n"
    r = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=repo.work, env=repo.env,
                       input=tamper_signature(raw), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    bad = r.stdout.strip()
    repo.git("update-ref", "refs/heads/main", bad)
    repo.git("push", "-q", "-f", "origin", "main")
    return bad


def refused(world, d, rev, reason):
    """Wait for /status to refuse `rev` with `reason`; the aliases stay as applied."""
    want = "commit %s: untrusted: %s" % (rev[:7], reason)

    def ok():
        st = d.status()
        return st if want in (st["git"].get("error") or "") else None
    try:
        return wait_for(ok, 20, what=want)
    except AssertionError:
        raise AssertionError("%s never refused: %s\nlog:\n%s" % (rev, d.status().get("git"),
                                                                  d.log_text()[-3000:]))


@pytest.mark.parametrize("provider", ["ssh", "gpg"])
def test_only_signed_heads_apply(world, provider):
    signer = (SshSigner if provider == "ssh" else GpgSigner)(world.tmp)
    try:
        repo = world.repo
        repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v1"))
        r1 = commit(repo, signer, "alice", "r1 signed by alice")
        d = world.start(interval="1s", extra_repo=signer.config())
        world.wait_aliases("alpha", {"Prod": "1", "Test": "1"}, timeout=30)
        st = d.status()
        assert st["trust"]["state"] == "trusted", st["trust"]
        assert st["trust"]["provider"] == provider and st["trust"]["commit"] == r1
        assert st["trust"]["signer"] == signer.trusted_signer, st["trust"]
        assert not st["git"].get("error")
        assert d.metric('aliasd_untrusted_commits_total{reason="unsigned"}') == 0

        # each untrusted head: not applied, its own reason
        repo.write("functions/a.yaml", function_manifest("alpha", prod="v2", test="v2"))
        r2 = commit(repo, signer, None, "r2 unsigned")
        st = refused(world, d, r2, "unsigned commit")
        assert st["trust"]["state"] == "untrusted" and st["trust"]["commit"] == r2, st["trust"]
        assert st["lastAppliedRevision"] == r1

        repo.write("functions/a.yaml", function_manifest("alpha", prod="v2", test="v1"))
        r3 = commit(repo, signer, "bob", "r3 signed by bob")
        st = refused(world, d, r3, "signed by unknown key")
        assert signer.key_of("bob") in st["git"]["error"] or st["trust"]["key"] in signer.key_of("bob"), st
        assert st["trust"]["state"] == "untrusted" and st["trust"]["key"], st["trust"]
        # `aliasd status` says it too
        p = subprocess.run([world.binary, "status", "--url", "http://127.0.0.1:%d" % world.port],
                           capture_output=True, text=True, timeout=30)
        assert "commit %s: untrusted: signed by unknown key" % r3[:7] in p.stdout, p.stdout
        assert "trust:      untrusted: signed by unknown key" in p.stdout, p.stdout

        repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v2"))
        r4 = tampered_commit(repo, signer, "r4 tampered")
        st = refused(world, d, r4, "bad signature")
        assert st["lastAppliedRevision"] == r1
        assert world._safe_aliases("alpha") == {"Prod": "1", "Test": "1"}

        # refused heads are polled again, but logged and counted once each
        wait_for(lambda: d.status()["lastPoll"] != st["lastPoll"], 10, what="another poll")
        assert d.metric('aliasd_untrusted_commits_total{reason="unsigned"}') == 1
        assert d.metric('aliasd_untrusted_commits_total{reason="unknown_key"}') == 1
        assert d.metric('aliasd_untrusted_commits_total{reason="bad_signature"}') == 1
        assert d.log_text().count("untrusted commit refused") == 3, d.log_text()[-3000:]

        # the ref moved back to the trusted commit applied: trusted again, the error gone
        repo.git("push", "-q", "-f", "origin", "%s:refs/heads/main" % r1)
        st = wait_for(lambda: (lambda s: s if s["trust"]["state"] == "trusted" else None)(d.status()), 15,
                      what="trusted again")
        assert st["trust"]["commit"] == r1 and st["trust"]["signer"] == signer.trusted_signer, st["trust"]
        wait_for(lambda: not d.status()["git"].get("error"), 10, what="error cleared")

        # a following trusted commit applies
        repo.write("functions/a.yaml", function_manifest("alpha", prod="v2", test="v2"))
        r5 = commit(repo, signer, "alice", "r5 signed by alice")
        world.wait_aliases("alpha", {"Prod": "2", "Test": "2"}, timeout=30)
        st = wait_for(lambda: (lambda s: s if s["lastAppliedRevision"] == r5 else None)(d.status()), 15,
                      what="r5 applied")
        assert st["trust"]["state"] == "trusted" and st["trust"]["commit"] == r5, st["trust"]
        assert not st["git"].get("error"), st["git"]
    finally:
        signer.close()


def test_tool_failure_is_an_error_and_nothing_applies(world):
    """ssh-keygen missing: no verdict, so the commit is not applied; the error says why."""
    from daemon_helpers import Daemon

    signer = SshSigner(world.tmp)
    repo = world.repo
    repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v1"))
    r1 = commit(repo, signer, "alice", "r1 signed by alice")
    world.configure(interval="1s", extra_repo=signer.config())
    empty = os.path.join(world.tmp, "empty-bin")
    os.makedirs(empty)
    world.daemon = Daemon(world.binary, world.config, world.tmp, world.emu.env(), world.port,
                          extra_env={"PATH": empty})
    d = world.daemon

    def errored():
        try:
            st = d.status()
        except Exception:  # not listening yet
            return None
        return st if st.get("trust", {}).get("state") == "error" else None
    st = wait_for(errored, 20, what="trust error in /status")
    assert "commit %s" % r1[:7] in st["git"]["error"] and "ssh-keygen" in st["git"]["error"], st["git"]
    assert st["trust"]["commit"] == r1 and "ssh-keygen" in st["trust"]["reason"], st["trust"]
    assert not st["ready"] and not st["lastAppliedRevision"]
    assert "CreateFunction" not in world.emu.stats()["requests"], world.emu.stats()["requests"]


# ------------------------------------------------------------------ one-shot: --verify-ssh


def oneshot(world, *args):
    env = dict(os.environ, **world.emu.env())
    env["XDG_CACHE_HOME"] = os.path.join(world.tmp, "cache")
    return subprocess.run([world.binary] + list(args), capture_output=True, text=True, timeout=120, env=env,
                          cwd=world.tmp)


def test_oneshot_apply_verify_ssh(world):
    from daemon_helpers import alias_versions

    signer = SshSigner(world.tmp)
    repo = world.repo
    common = ["--repo", repo.bare, "--ref", "main", "--path", "functions", "--verify-ssh", signer.trust_file]
    repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v1"))
    commit(repo, signer, "alice", "r1 signed by alice")
    p = oneshot(world, "apply", *common)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert alias_versions(world.emu, "alpha") == {"Prod": "1", "Test": "1"}

    # an untrusted head: exit 1 with the reason, nothing planned or applied
    repo.write("functions/a.yaml", function_manifest("alpha", prod="v2", test="v2"))
    r2 = commit(repo, signer, "bob", "r2 signed by bob")
    writes = {op: n for op, n in world.emu.stats()["requests"].items() if not op.startswith(("Get", "List"))}
    for verb in ("plan", "apply"):
        p = oneshot(world, verb, *common)
        assert p.returncode == 1, (verb, p.stdout, p.stderr)
        assert "commit %s: untrusted: signed by unknown key %s" % (r2[:7], signer.key_of("bob")) in p.stderr, \
            p.stderr
        assert "Plan:" not in p.stdout and "Apply:" not in p.stdout, p.stdout
    assert alias_versions(world.emu, "alpha") == {"Prod": "1", "Test": "1"}
    assert {op: n for op, n in world.emu.stats()["requests"].items()
            if not op.startswith(("Get", "List"))} == writes

    # without --verify-ssh the same head is read (the option is what refuses it)
    p = oneshot(world, "plan", *common[:-2])
    assert p.returncode == 2, (p.stdout, p.stderr)

    # a plain folder has no commit to verify: a usage error
    p = oneshot(world, "plan", "--repo", repo.work, "--verify-ssh", signer.trust_file)
    assert p.returncode == 64 and "needs a commit" in p.stderr, (p.returncode, p.stderr)
    p = oneshot(world, "plan", *common, "--verify-gpg", signer.trust_file)
    assert p.returncode == 64, (p.returncode, p.stderr)


def test_untrusted_head_gets_a_failure_status_and_event(world):
    """notify.github and a webhook see the refusal: a `failure` status naming the untrusted signature
    on the refused commit, and one `untrusted` event."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "github"))
    from githubfake import FakeGitHub, WebhookReceiver

    signer = SshSigner(world.tmp)
    token_file = os.path.join(world.tmp, "github-token")
    with open(token_file, "w") as f:
        f.write("ghp_trusttest\n")
    with FakeGitHub(token="ghp_trusttest") as gh, WebhookReceiver() as hook:
        url_file = os.path.join(world.tmp, "hook-url")
        with open(url_file, "w") as f:
            f.write(hook.url + "\n")
        repo = world.repo
        repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v1"))
        r1 = commit(repo, signer, "alice", "r1 signed by alice")
        world.configure(interval="1s", extra_repo=signer.config())
        with open(world.config, "a") as f:
            f.write("notify:\n  github:\n    tokenFile: %s\n    repository: acme/lambda-releases\n"
                    "    apiUrl: %s\n  webhooks:\n    - urlFile: %s\n      format: json\n"
                    "      events: [untrusted]\n" % (token_file, gh.url, url_file))
        d = world.start()
        world.wait_aliases("alpha", {"Prod": "1", "Test": "1"}, timeout=30)
        wait_for(lambda: gh.states("acme", "lambda-releases", r1) == ["pending", "success"], 30,
                 what="r1 statuses")

        repo.write("functions/a.yaml", function_manifest("alpha", prod="v2", test="v2"))
        r2 = commit(repo, signer, "bob", "r2 signed by bob")
        refused(world, d, r2, "signed by unknown key")
        wait_for(lambda: gh.states("acme", "lambda-releases", r2) == ["failure"], 30, what="r2 failure")
        post = [p for p in gh.status_posts() if p["path"].endswith(r2)][0]
        assert "untrusted" in post["body"]["description"] and len(post["body"]["description"]) <= 140, post
        wait_for(lambda: any(b.get("event") == "untrusted" for b in hook.bodies()), 30, what="event")
        time.sleep(2)  # later polls refuse the same head again: no second status, no second event
        assert gh.states("acme", "lambda-releases", r2) == ["failure"]
        events = [b for b in hook.bodies() if b.get("event") == "untrusted"]
        assert len(events) == 1 and events[0]["revision"] == r2, events
        assert world._safe_aliases("alpha") == {"Prod": "1", "Test": "1"}


def test_reload_verifies_the_applied_commit_again(world):
    """A key revoked in the allowed-signers file + SIGHUP: the commit applied is verified again and
    /status says it is no longer trusted (kept saying it across polls, counted once); trusting the key
    again (SIGHUP) clears it."""
    import signal
    signer = SshSigner(world.tmp)
    repo = world.repo
    repo.write("functions/a.yaml", function_manifest("alpha", prod="v1", test="v1"))
    r1 = commit(repo, signer, "alice", "r1 signed by alice")
    d = world.start(interval="1s", extra_repo=signer.config())
    world.wait_aliases("alpha", {"Prod": "1", "Test": "1"}, timeout=30)
    assert d.status()["trust"]["state"] == "trusted"
    trusted = open(signer.trust_file).read()

    # alice's key revoked: bob's alone is trusted now
    with open(signer.trust_file, "w") as f:
        f.write("bob@example.com %s\n" % open(os.path.join(world.tmp, "bob.pub")).read().strip())
    d.signal(signal.SIGHUP)
    st = refused(world, d, r1, "signed by unknown key")
    assert st["trust"]["state"] == "untrusted" and st["trust"]["commit"] == r1, st["trust"]
    assert st["lastAppliedRevision"] == r1  # what was applied stays applied (nothing is undone)
    polls = st["lastPoll"]
    wait_for(lambda: d.status()["lastPoll"] != polls, 10, what="another poll")
    time.sleep(1.5)
    st = d.status()
    assert "commit %s: untrusted: signed by unknown key" % r1[:7] in (st["git"].get("error") or ""), st["git"]
    assert st["trust"]["state"] == "untrusted", st["trust"]
    assert d.metric('aliasd_untrusted_commits_total{reason="unknown_key"}') == 1
    assert world._safe_aliases("alpha") == {"Prod": "1", "Test": "1"}

    # trusted again
    with open(signer.trust_file, "w") as f:
        f.write(trusted)
    d.signal(signal.SIGHUP)
    wait_for(lambda: d.status()["trust"]["state"] == "trusted", 15, what="trusted again")
    wait_for(lambda: not d.status()["git"].get("error"), 10, what="error cleared")
    repo.write("functions/a.yaml", function_manifest("alpha", prod="v2", test="v2"))
    commit(repo, signer, "alice", "r2 signed by alice")
    world.wait_aliases("alpha", {"Prod": "2", "Test": "2"}, timeout=30)
