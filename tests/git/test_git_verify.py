"""Commit signature verification (manifest/verify.c) against real git, OpenSSH and GnuPG.

Drives $BUILD/tests/tools/manifest_verify_commit over commits signed by
`git commit -S` (gpg.format=ssh and openpgp) in a bare mirror, as the daemon's
cache holds them, and checks that every verdict agrees with what
`git verify-commit` says of the same commit with the same trust.
"""

import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(not (shutil.which("ssh-keygen") and shutil.which("gpg")),
                                reason="needs ssh-keygen and gpg")


def run(*args, env=None, cwd=None, input=None, check=True):
    r = subprocess.run(args, env=env, cwd=cwd, input=input, capture_output=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"{args}: exit {r.returncode}\n{r.stdout.decode()}\n{r.stderr.decode()}")
    return r


class World:
    """Keys, a signing repository, its bare mirror and the trust files, in tmp."""

    def __init__(self, tmp, tool):
        self.tmp = str(tmp)
        self.tool = tool
        self.env = dict(os.environ, HOME=self.tmp, GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Dev",
                        GIT_AUTHOR_EMAIL="dev@example.com", GIT_COMMITTER_NAME="Dev",
                        GIT_COMMITTER_EMAIL="dev@example.com")
        self.env.pop("GNUPGHOME", None)
        self.repo = os.path.join(self.tmp, "repo")
        self.bare = os.path.join(self.tmp, "cache.git")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        run("git", "init", "-q", "-b", "main", self.repo, env=self.env)
        self.homes = []

    def path(self, name):
        return os.path.join(self.tmp, name)

    def git(self, *args, env=None):
        return run("git", "-C", self.repo, *args, env=env or self.env).stdout.decode().strip()

    def ssh_key(self, name):
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", self.path(name))
        fp = run("ssh-keygen", "-l", "-f", self.path(name) + ".pub").stdout.decode().split()[1]
        return fp

    def gpg_home(self, name, uid, *extra):
        home = self.path("gpg-" + name)
        os.makedirs(home, mode=0o700)
        self.homes.append(home)
        env = dict(self.env, GNUPGHOME=home)
        run("gpg", "-q", "--batch", "--passphrase", "", *extra, "--quick-gen-key", uid, "ed25519", "sign",
            extra and "1d" or "never", env=env)
        fpr = [ln.split(":")[9] for ln in run("gpg", "--batch", "--with-colons", "--list-keys", env=env)
               .stdout.decode().splitlines() if ln.startswith("fpr:")][0]
        return home, fpr

    def export(self, home, out, *fprs):
        data = run("gpg", "--batch", "--armor", "--export", *fprs, env=dict(self.env, GNUPGHOME=home)).stdout
        with open(out, "ab") as f:
            f.write(data)
        return out

    def commit(self, msg, *cfg, env=None):
        args = []
        for c in cfg:
            args += ["-c", c]
        self.git(*args, "commit", "-q", "--allow-empty", *(["-S"] if cfg else []), "-m", msg, env=env)
        return self.git("rev-parse", "HEAD")

    def ssh_commit(self, key, msg):
        return self.commit(msg, "gpg.format=ssh", f"user.signingkey={self.path(key)}")

    def gpg_commit(self, home, uid_email, msg, program="gpg"):
        return self.commit(msg, "gpg.format=openpgp", f"user.signingkey={uid_email}", f"gpg.program={program}",
                           env=dict(self.env, GNUPGHOME=home))

    def write_object(self, text):
        return run("git", "-C", self.repo, "hash-object", "-t", "commit", "-w", "--stdin",
                   input=text.encode(), env=self.env).stdout.decode().strip()

    def mirror(self):
        """The daemon's view: a bare mirror, plus the loose objects no ref names (tampered copies)."""
        shutil.rmtree(self.bare, ignore_errors=True)
        run("git", "clone", "-q", "--mirror", "--no-local", self.repo, self.bare, env=self.env)
        src = os.path.join(self.repo, ".git", "objects")
        for d in os.listdir(src):
            if len(d) == 2:
                os.makedirs(os.path.join(self.bare, "objects", d), exist_ok=True)
                for f in os.listdir(os.path.join(src, d)):
                    dst = os.path.join(self.bare, "objects", d, f)
                    if not os.path.exists(dst):
                        shutil.copy(os.path.join(src, d, f), dst)

    def verify(self, trust, *commits, check=True):
        """{commit: (verdict, signer, key, reason)} from the tool."""
        r = run(self.tool, *trust, "--state-dir", self.state, self.bare, *commits, env=self.env, check=check)
        if not check:
            return r
        out = {}
        for line in r.stdout.decode().splitlines():
            c, verdict, signer, key, reason = line.split("\t")
            out[c] = (verdict, signer, key, reason)
        return out

    def git_verify_ssh(self, allowed, commit):
        return run("git", "-C", self.bare, "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit",
                   commit, env=self.env, check=False).returncode == 0

    def git_verify_gpg(self, keyring, commit):
        home = self.path("gpg-check")
        shutil.rmtree(home, ignore_errors=True)
        os.makedirs(home, mode=0o700)
        self.homes.append(home)
        env = dict(self.env, GNUPGHOME=home)
        run("gpg", "-q", "--batch", "--no-autostart", "--import", keyring, env=env)
        return run("git", "-C", self.bare, "verify-commit", commit, env=env, check=False).returncode == 0

    def close(self):
        for home in self.homes + [os.path.join(self.state, "gnupg")]:
            subprocess.run(["gpgconf", "--kill", "all"], env=dict(self.env, GNUPGHOME=home),
                           capture_output=True, timeout=30)


@pytest.fixture
def world(tmp_path, build_dir):
    tool = os.path.join(build_dir, "tests", "tools", "manifest_verify_commit")
    assert os.access(tool, os.X_OK), f"{tool} missing: make tests"
    w = World(tmp_path, tool)
    yield w
    w.close()


def tamper_signature(text):
    """One base64 character of the signature's last full line changed."""
    lines = text.split("\n")
    end = next(i for i, ln in enumerate(lines) if ln.startswith(" -----END "))
    i = end - 1 if len(lines[end - 1]) > 12 else end - 2
    ln = lines[i]
    mid = len(ln) // 2
    lines[i] = ln[:mid] + ("B" if ln[mid] == "A" else "A") + ln[mid + 1:]
    return "\n".join(lines)


def test_ssh_verdicts_agree_with_git(world):
    alice = world.ssh_key("alice")
    bob = world.ssh_key("bob")
    allowed = world.path("allowed_signers")
    with open(allowed, "w") as f:
        f.write(f"alice@example.com {open(world.path('alice.pub')).read().strip()}\n")

    unsigned = world.commit("unsigned")
    good = world.ssh_commit("alice", "by alice")
    other = world.ssh_commit("bob", "by bob")
    raw = world.git("cat-file", "commit", good) + "\n"
    badsig = world.write_object(tamper_signature(raw))
    badmsg = world.write_object(raw.replace("by alice", "by mallory"))
    world.mirror()

    got = world.verify(["--ssh", allowed], unsigned, good, other, badsig, badmsg)
    assert got[good] == ("trusted", "alice@example.com", alice,
                         f"good signature by alice@example.com ({alice})")
    assert got[unsigned][0] == "unsigned" and got[unsigned][3] == "unsigned commit"
    assert got[other] == ("unknown-key", "", bob, f"signed by unknown key {bob}")
    assert got[badsig][0] == "bad-signature" and got[badsig][3].startswith("bad signature")
    assert got[badmsg][0] == "bad-signature"
    for c, (verdict, *_rest) in got.items():
        assert world.git_verify_ssh(allowed, c) == (verdict == "trusted"), (c, verdict)

    # a later trusted commit on top of an untrusted one is trusted again
    after = world.ssh_commit("alice", "fixed")
    world.mirror()
    assert world.verify(["--ssh", allowed], "refs/heads/main")["refs/heads/main"][0] == "trusted"
    assert world.verify(["--ssh", allowed], after)[after][1] == "alice@example.com"


def test_ssh_validity_window_and_namespace(world):
    world.ssh_key("alice")
    pub = open(world.path("alice.pub")).read().strip()
    expired = world.path("allowed_expired")
    with open(expired, "w") as f:
        f.write(f'alice@example.com valid-before="20200101" {pub}\n')
    c = world.ssh_commit("alice", "signed after the key's validity")

    # the same key signing the same payload in another namespace ("file", not "git")
    raw = world.git("cat-file", "commit", c) + "\n"
    head, _, rest = raw.partition("gpgsig ")
    sig_lines, body = [], rest.split("\n")
    sig_lines.append(body.pop(0))
    while body and body[0].startswith(" "):
        sig_lines.append(body.pop(0)[1:])
    payload = head + "\n".join(body)
    sigfile = world.path("payload")
    with open(sigfile, "w") as f:
        f.write(payload)
    run("ssh-keygen", "-q", "-Y", "sign", "-n", "file", "-f", world.path("alice"), sigfile)
    sig = open(sigfile + ".sig").read().strip().split("\n")
    msg_at = payload.index("\n\n")
    forged = payload[:msg_at] + "\ngpgsig " + "\n ".join(sig) + payload[msg_at:]
    wrong_ns = world.write_object(forged)
    world.mirror()

    allowed = world.path("allowed")
    with open(allowed, "w") as f:
        f.write(f"alice@example.com {pub}\n")
    got = world.verify(["--ssh", allowed], c, wrong_ns)
    assert got[c][0] == "trusted"
    assert got[wrong_ns][0] != "trusted", got[wrong_ns]
    assert world.git_verify_ssh(allowed, wrong_ns) is False

    # outside its validity window the key is as good as unlisted (git: "No principal matched")
    got = world.verify(["--ssh", expired], c)
    assert got[c][0] == "unknown-key", got[c]
    assert world.git_verify_ssh(expired, c) is False


def test_gpg_verdicts_agree_with_git(world):
    gina_home, gina = world.gpg_home("gina", "Gina <gina@example.com>")
    otto_home, otto = world.gpg_home("otto", "Otto <otto@example.com>")
    keyring = world.export(gina_home, world.path("trusted.asc"))

    unsigned = world.commit("unsigned")
    good = world.gpg_commit(gina_home, "gina@example.com", "by gina")
    other = world.gpg_commit(otto_home, "otto@example.com", "by otto")
    raw = world.git("cat-file", "commit", good) + "\n"
    badmsg = world.write_object(raw.replace("by gina", "by mallory"))
    badsig = world.write_object(tamper_signature(raw))
    world.ssh_key("alice")
    ssh_signed = world.ssh_commit("alice", "ssh-signed")
    world.mirror()

    got = world.verify(["--gpg", keyring], unsigned, good, other, badmsg, badsig, ssh_signed)
    assert got[good] == ("trusted", "Gina <gina@example.com>", gina,
                         f"good signature by Gina <gina@example.com> ({gina})")
    assert got[unsigned][0] == "unsigned"
    assert got[other][0] == "unknown-key" and otto.endswith(got[other][2]), got[other]
    assert got[badmsg][0] == "bad-signature" and got[badsig][0] == "bad-signature"
    assert got[ssh_signed][0] == "provider-mismatch"
    for c, (verdict, *_rest) in got.items():
        assert world.git_verify_gpg(keyring, c) == (verdict == "trusted"), (c, verdict)

    # and the other way round: an OpenPGP signature with ssh configured
    allowed = world.path("allowed")
    with open(allowed, "w") as f:
        f.write(f"alice@example.com {open(world.path('alice.pub')).read().strip()}\n")
    got = world.verify(["--ssh", allowed], good)
    assert got[good][0] == "provider-mismatch"
    assert got[good][3] == "signed with an OpenPGP (gpg) signature, but ssh is configured"


def test_gpg_web_flow_style_keyring(world):
    """Several armored keys in one file, as when trusting GitHub's web-flow key next to the team's."""
    dev_home, dev = world.gpg_home("dev", "Dev <dev@example.com>")
    flow_home, flow = world.gpg_home("flow", "GitHub <noreply@github.com>")
    keyring = world.path("keys.asc")
    world.export(dev_home, keyring)
    world.export(flow_home, keyring)
    by_dev = world.gpg_commit(dev_home, "dev@example.com", "local commit")
    merged = world.gpg_commit(flow_home, "noreply@github.com", "Merge pull request #7")
    world.mirror()
    got = world.verify(["--gpg", keyring], by_dev, merged)
    assert got[by_dev][0] == "trusted" and got[by_dev][2] == dev
    assert got[merged] == ("trusted", "GitHub <noreply@github.com>", flow,
                           f"good signature by GitHub <noreply@github.com> ({flow})")

    # the web-flow key dropped from the file: its commits are no longer trusted
    os.unlink(keyring)
    world.export(dev_home, keyring)
    got = world.verify(["--gpg", keyring], by_dev, merged)
    assert got[by_dev][0] == "trusted"
    assert got[merged][0] == "unknown-key"


def test_gpg_expired_and_revoked_keys(world):
    # a key made (and used) in 2020 that expired a day later
    old_home, old = world.gpg_home("old", "Old <old@example.com>", "--faked-system-time", "20200101T000000")
    wrapper = world.path("gpg-2020")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec gpg --faked-system-time 20200101T120000 "$@"\n')
    os.chmod(wrapper, 0o755)
    signed_2020 = world.gpg_commit(old_home, "old@example.com", "from 2020", program=wrapper)

    rev_home, rev = world.gpg_home("rev", "Rev <rev@example.com>")
    signed_rev = world.gpg_commit(rev_home, "rev@example.com", "before revocation")
    cert = os.path.join(rev_home, "openpgp-revocs.d", rev + ".rev")
    text = open(cert).read().replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----",
                                     "-----BEGIN PGP PUBLIC KEY BLOCK-----")
    run("gpg", "-q", "--batch", "--import", input=text.encode(), env=dict(world.env, GNUPGHOME=rev_home))
    world.mirror()

    keyring = world.path("keys.asc")
    world.export(old_home, keyring)
    world.export(rev_home, keyring)
    got = world.verify(["--gpg", keyring], signed_2020, signed_rev)
    assert got[signed_2020][0] == "expired-or-revoked", got[signed_2020]
    assert got[signed_rev][0] == "expired-or-revoked", got[signed_rev]
    assert old in got[signed_2020][3] and rev in got[signed_rev][3]


def test_tool_failures_are_errors_not_verdicts(world):
    world.ssh_key("alice")
    allowed = world.path("allowed")
    with open(allowed, "w") as f:
        f.write(f"alice@example.com {open(world.path('alice.pub')).read().strip()}\n")
    c = world.ssh_commit("alice", "signed")
    world.mirror()
    r = world.verify(["--ssh", allowed, "--ssh-keygen", "/nonexistent/ssh-keygen"], c, check=False)
    assert r.returncode == 1 and b"cannot run" in r.stderr and r.stdout == b""
    r = world.verify(["--ssh", world.path("missing")], c, check=False)
    assert r.returncode == 1 and b"No such file" in r.stderr
    r = world.verify(["--ssh", allowed], "0" * 40, check=False)
    assert r.returncode == 1
