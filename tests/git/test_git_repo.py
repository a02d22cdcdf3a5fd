"""manifest/repo.c against real Git repositories and servers.

Drives tests/tools/manifest_repo_dump (built to $BUILD/tests/tools/) over:
local folders and working trees, local bare repositories, file://, git://
(git daemon), smart HTTP with a token (git http-backend), and HTTPS with a CA
made by openssl.  SSH is tested end to end against a real sshd in
test_git_ssh.py; the known_hosts logic also by tests/unit/test_manifest_repo.c.
"""
import os
import subprocess
import time

import pytest

import gitservers as gs

TOKEN = "tok-8f3a9c2e51d74b60"


@pytest.fixture(scope="module")
def dump_bin(build_dir):
    path = os.path.join(build_dir, "tests", "tools", "manifest_repo_dump")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run make tests")
    return path


@pytest.fixture
def dump(dump_bin, tmp_path):
    state = str(tmp_path / "state")

    def run(url, *commands, ref=None, token=None, ca=None, max_bytes=None, snapshot=False,
            state_dir=None, token_user=None, env=None, timeout_ms=None):
        args = [dump_bin, "--url", url, "--state-dir", state_dir or state]
        if ref is not None:
            args += ["--ref", ref]
        if token is not None:
            args += ["--token", token]
        if token_user is not None:
            args += ["--token-user", token_user]
        if ca is not None:
            args += ["--ca", ca]
        if timeout_ms is not None:
            args += ["--timeout-ms", str(timeout_ms)]
        if max_bytes is not None:
            args += ["--max", str(max_bytes)]
        if snapshot:
            args.append("--snapshot")
        full_env = {k: v for k, v in os.environ.items() if k != "GIT_TOKEN"}
        full_env.update(env or {})
        start = time.monotonic()
        proc = subprocess.run(args + list(commands), capture_output=True, text=True, timeout=120,
                              env=full_env)
        return gs.Result(proc, time.monotonic() - start)

    run.state = state
    return run


FILES = {
    "functions/orders.yaml": "name: orders\n",
    "functions/payments/pay.yml": "name: pay\n",
    "top.yaml": "name: top\n",
    "README.md": "not a manifest\n",
    "artifacts/v1.zip": "PK\x03\x04fake",
}


@pytest.fixture
def repos(tmp_path):
    """work/ (a working tree) and srv/r.git (bare), with a tag and an annotated tag."""
    work = str(tmp_path / "work")
    head = gs.make_repo(work, FILES)
    gs.git("tag", "v1", cwd=work)
    gs.git("tag", "-a", "v1-annotated", "-m", "release", cwd=work)
    srv = str(tmp_path / "srv")
    os.makedirs(srv)
    bare = gs.make_bare(work, os.path.join(srv, "r.git"))
    return {"work": work, "srv": srv, "bare": bare, "head": head, "tmp": str(tmp_path)}


WANT = ["functions/orders.yaml", "functions/payments/pay.yml", "top.yaml"]


def new_commit(repos, rel="functions/orders.yaml", content="name: orders\nmemory: 256\n"):
    gs.write(repos["work"], rel, content)
    oid = gs.commit_all(repos["work"], "change " + rel)
    gs.push(repos["work"], repos["bare"])
    return oid


# ---- local -----------------------------------------------------------------


def test_plain_folder_is_read_as_on_disk(dump, tmp_path):
    folder = str(tmp_path / "plain")
    gs.write(folder, "a.yaml", "name: a\n")
    gs.write(folder, "sub/b.yml", "name: b\n")
    res = dump(folder, "revision", "list", "", "read", "sub/b.yml")
    assert res.rc == 0, res.err
    assert res.lines("path") == ["a.yaml", "sub/b.yml"]
    assert res.one("revision") == ""
    assert "name: b\n" in res.out
    assert not os.path.exists(dump.state), "a folder needs no cache"


def test_working_tree_shows_uncommitted_files(dump, repos):
    gs.write(repos["work"], "functions/new.yaml", "name: new\n")
    res = dump(repos["work"], "list", "", "revision")
    assert res.rc == 0, res.err
    assert "functions/new.yaml" in res.lines("path")
    assert res.one("revision") == ""


def test_working_tree_with_ref_reads_the_commit(dump, repos):
    gs.write(repos["work"], "functions/new.yaml", "name: new\n")
    res = dump(repos["work"], "list", "", "revision", ref="main")
    assert res.rc == 0, res.err
    assert res.lines("path") == WANT
    assert res.one("revision") == repos["head"]


def test_plain_folder_with_ref_is_an_error(dump, tmp_path):
    folder = str(tmp_path / "plain")
    gs.write(folder, "a.yaml", "name: a\n")
    res = dump(folder, "list", "", ref="main")
    assert res.rc == 1
    assert "error EINVAL" in res.err and "not a Git repository" in res.err


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_local_bare_repository(dump, repos, form):
    url = repos["bare"] if form == "path" else "file://" + repos["bare"]
    res = dump(url, "remote-head", "fetch", "list", "", "read", "top.yaml", "revision")
    assert res.rc == 0, res.err
    assert res.one("remote-head") == repos["head"]
    assert res.one("fetch") == repos["head"] + " downloaded=1"
    assert res.lines("path") == WANT
    assert "name: top\n" in res.out
    assert res.one("revision") == repos["head"]
    # the cache is a bare repository under the state directory
    caches = os.listdir(os.path.join(dump.state, "git"))
    assert len(caches) == 1 and caches[0].startswith("r-") and caches[0].endswith(".git")
    assert gs.has_object(os.path.join(dump.state, "git", caches[0]), repos["head"])


def test_concurrent_processes_share_one_cache(dump_bin, repos, tmp_path):
    state = str(tmp_path / "shared-state")
    procs = [subprocess.Popen([dump_bin, "--url", repos["bare"], "--state-dir", state, "fetch", "list", ""],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.count("path ") == len(WANT)
    assert len(os.listdir(os.path.join(state, "git"))) == 1, "one cache, no temporary leftovers"


def test_snapshot_api(dump, repos):
    res = dump(repos["bare"], "revision", "description", "list", "functions", snapshot=True,
               ref="v1")
    assert res.rc == 0, res.err
    assert res.one("revision") == repos["head"]
    assert res.one("description") == repos["bare"] + "@v1"
    assert res.lines("path") == WANT[:2]


# ---- git:// ----------------------------------------------------------------


def test_git_daemon(dump, repos):
    with gs.GitDaemon(repos["srv"]) as daemon:
        url = daemon.url("r.git")
        res = dump(url, "remote-head", "fetch", "list", "", "read", "functions/orders.yaml")
        assert res.rc == 0, res.err
        assert res.one("remote-head") == repos["head"]
        assert res.lines("path") == WANT
        assert "name: orders\n" in res.out
        # a new commit: remote-head sees it; fetch brings it; a second fetch transfers nothing
        oid = new_commit(repos)
        res = dump(url, "remote-head", "fetch", "fetch", "read", "functions/orders.yaml", "info")
        assert res.rc == 0, res.err
        assert res.one("remote-head") == oid
        assert res.lines("fetch") == [oid + " downloaded=1", oid + " downloaded=0"]
        assert "memory: 256" in res.out
        assert res.one("downloads") == "1"


def test_git_daemon_missing_repository(dump, repos):
    with gs.GitDaemon(repos["srv"]) as daemon:
        res = dump(daemon.url("nope.git"), "remote-head")
        assert res.rc == 1
        assert "error" in res.err and "git://127.0.0.1" in res.err


# ---- HTTP with a token -----------------------------------------------------


def test_http_right_token(dump, repos):
    with gs.GitHttpServer(repos["srv"], token=TOKEN, user="x-access-token") as srv:
        res = dump(srv.url("r.git"), "fetch", "list", "", token=TOKEN)
        assert res.rc == 0, res.err
        assert res.lines("path") == WANT
        assert srv.uploads() == 1


def test_http_token_from_environment_and_custom_user(dump, repos):
    with gs.GitHttpServer(repos["srv"], token=TOKEN, user="oauth2") as srv:
        res = dump(srv.url("r.git"), "remote-head", token_user="oauth2", env={"GIT_TOKEN": TOKEN})
        assert res.rc == 0, res.err
        assert res.one("remote-head") == repos["head"]
        # default user is refused by this server
        res = dump(srv.url("r.git"), "remote-head", env={"GIT_TOKEN": TOKEN})
        assert res.rc == 1 and "error EACCES" in res.err


def test_http_wrong_token_fails_fast_without_leaking(dump, repos):
    wrong = "wrong-token-6d1e0b77"
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as srv:
        res = dump(srv.url("r.git"), "fetch", token=wrong)
        assert res.rc == 1
        assert "error EACCES" in res.err
        assert "token was refused" in res.err
        assert wrong not in res.err and wrong not in res.out
        assert res.elapsed < 10
        # one anonymous request and exactly one attempt with the token
        assert srv.refusals == 2, srv.requests
        assert srv.uploads() == 0


def test_http_no_token(dump, repos):
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as srv:
        res = dump(srv.url("r.git"), "remote-head")
        assert res.rc == 1
        assert "error EACCES" in res.err and "requires authentication" in res.err
        assert srv.refusals == 1


def test_http_userinfo_is_redacted(dump, repos):
    secret = "pw-in-url-3b9f"
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as srv:
        url = srv.url("r.git").replace("http://", f"http://someone:{secret}@")
        res = dump(url, "info", "remote-head")
        assert res.rc == 1
        assert secret not in res.err and secret not in res.out
        assert "***@127.0.0.1" in res.err
        assert secret not in res.one("cache") and secret not in res.one("handle")
        # the right password in the URL is used (libgit2 sends URL credentials)
        url = srv.url("r.git").replace("http://", f"http://x-access-token:{TOKEN}@")
        res = dump(url, "remote-head")
        assert res.rc == 0, res.err
        assert res.one("remote-head") == repos["head"]


def test_http_token_not_sent_after_redirect_to_another_server(dump, repos):
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as target:
        base = target.url("")[:-1]
        with gs.GitHttpServer(repos["srv"], redirect_to=base) as redirector:
            res = dump(redirector.url("r.git"), "remote-head", token=TOKEN)
            assert res.rc == 1
            assert "error EACCES" in res.err
            assert redirector.requests, "the redirector was asked first"
            assert target.requests, "the redirect was followed"
            assert not any(target.auth_headers), "the token went to another server"
            assert TOKEN not in res.err


def test_http_ref_kinds(dump, repos):
    gs.git("checkout", "-q", "-b", "feature", cwd=repos["work"])
    gs.write(repos["work"], "functions/feature.yaml", "name: feature\n")
    feature = gs.commit_all(repos["work"], "feature")
    gs.push(repos["work"], repos["bare"], "feature:refs/heads/feature")
    gs.git("checkout", "-q", "main", cwd=repos["work"])
    head = repos["head"]
    cases = [
        (None, head), ("HEAD", head), ("main", head), ("refs/heads/main", head),
        ("feature", feature), ("v1", head), ("v1-annotated", head),
        ("refs/tags/v1-annotated", head), (feature, feature), (feature[:10], feature),
    ]
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as srv:
        for ref, want in cases:
            res = dump(srv.url("r.git"), "remote-head", "fetch", "revision", ref=ref, token=TOKEN)
            assert res.rc == 0, (ref, res.err)
            assert res.one("remote-head") == want, ref
            assert res.one("revision") == want, ref
        res = dump(srv.url("r.git"), "fetch", ref="no-such-branch", token=TOKEN)
        assert res.rc == 1 and "error ENOENT" in res.err and "no-such-branch" in res.err
        res = dump(srv.url("r.git"), "fetch", ref="0000000", token=TOKEN)
        assert res.rc == 1 and "error ENOENT" in res.err


def test_http_remote_head_does_not_fetch(dump, repos):
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as srv:
        url = srv.url("r.git")
        res = dump(url, "fetch", "info", ref="main", token=TOKEN)
        assert res.rc == 0, res.err
        cache = res.one("cache")
        assert srv.uploads() == 1
        objects = gs.object_count(cache)

        oid = new_commit(repos)
        res = dump(url, "remote-head", ref="main", token=TOKEN)
        assert res.rc == 0, res.err
        assert res.one("remote-head") == oid
        assert srv.uploads() == 1, "remote-head must not negotiate objects"
        assert gs.object_count(cache) == objects
        assert not gs.has_object(cache, oid)

        res = dump(url, "fetch", "fetch", "list", "", ref="main", token=TOKEN)
        assert res.rc == 0, res.err
        assert res.lines("fetch") == [oid + " downloaded=1", oid + " downloaded=0"]
        assert srv.uploads() == 2, "the second fetch must not download"
        assert gs.has_object(cache, oid)


def test_http_force_push_and_deleted_branch(dump, repos):
    with gs.GitHttpServer(repos["srv"], token=TOKEN) as srv:
        url = srv.url("r.git")
        new_commit(repos)
        assert dump(url, "fetch", ref="main", token=TOKEN).rc == 0
        # rewrite history: main goes back to the first commit plus another change
        gs.git("reset", "-q", "--hard", repos["head"], cwd=repos["work"])
        gs.write(repos["work"], "top.yaml", "name: top2\n")
        oid = gs.commit_all(repos["work"], "rewritten")
        gs.push(repos["work"], repos["bare"], force=True)
        res = dump(url, "fetch", "read", "top.yaml", ref="main", token=TOKEN)
        assert res.rc == 0, res.err
        assert res.one("fetch") == oid + " downloaded=1"
        assert "name: top2" in res.out
        # the branch disappears
        gs.git("push", "-q", repos["bare"], "HEAD:refs/heads/tmp", cwd=repos["work"])
        assert dump(url, "fetch", ref="tmp", token=TOKEN).rc == 0
        gs.git("push", "-q", repos["bare"], ":refs/heads/tmp", cwd=repos["work"])
        res = dump(url, "remote-head", ref="tmp", token=TOKEN)
        assert res.rc == 1 and "error ENOENT" in res.err


@pytest.mark.parametrize("scheme", ["http", "https", "git"])
def test_hung_server_times_out(dump, scheme):
    with gs.SilentServer() as srv:
        res = dump(srv.url(scheme, "r.git"), "remote-head", timeout_ms=700)
        assert res.rc == 1
        assert "error ETIMEDOUT" in res.err, res.err
        assert res.elapsed < 10
        assert srv.wait_connections(1) == 1


# ---- HTTPS -----------------------------------------------------------------


@pytest.fixture(scope="module")
def cas(tmp_path_factory):
    base = tmp_path_factory.mktemp("ca")
    return (gs.make_ca(str(base / "good"), "aliasd test CA"), gs.make_ca(str(base / "other"), "other CA"),
            gs.make_ca(str(base / "misnamed"), "misnamed CA", server_name="git.example.org"))


def test_https_with_trusted_ca(dump, repos, cas):
    good = cas[0]
    with gs.GitHttpServer(repos["srv"], token=TOKEN, tls=(good["cert"], good["key"])) as srv:
        res = dump(srv.url("r.git"), "fetch", "list", "", token=TOKEN, ca=good["ca"])
        assert res.rc == 0, res.err
        assert res.lines("path") == WANT


@pytest.mark.parametrize("which", ["system-only", "other-ca"])
def test_https_untrusted_certificate_refused(dump, repos, cas, which):
    good, other = cas[0], cas[1]
    with gs.GitHttpServer(repos["srv"], token=TOKEN, tls=(good["cert"], good["key"])) as srv:
        res = dump(srv.url("r.git"), "fetch", token=TOKEN,
                   ca=other["ca"] if which == "other-ca" else None)
        assert res.rc == 1
        assert "error EACCES" in res.err and "not trusted" in res.err
        assert TOKEN not in res.err
        # refused before any HTTP request was made
        assert srv.requests == []


def test_https_certificate_for_another_name_refused(dump, repos, cas):
    misnamed = cas[2]
    with gs.GitHttpServer(repos["srv"], token=TOKEN, tls=(misnamed["cert"], misnamed["key"])) as srv:
        res = dump(srv.url("r.git"), "fetch", token=TOKEN, ca=misnamed["ca"])
        assert res.rc == 1
        assert "error EACCES" in res.err and "not trusted" in res.err
        assert srv.requests == []


# ---- tree semantics through the tool ------------------------------------------


def test_symlinks_submodules_and_modes(dump, repos):
    work = repos["work"]
    os.symlink("/etc/passwd", os.path.join(work, "outside.yaml"))
    os.symlink("functions", os.path.join(work, "fnlink"))
    gs.write(work, "run.yaml", "name: run\n", mode=0o755)
    gs.git("add", "-A", cwd=work)
    gs.git("update-index", "--add", "--cacheinfo", f"160000,{repos['head']},vendor/lib", cwd=work)
    gs.git("commit", "-q", "-m", "links", cwd=work)
    gs.push(work, repos["bare"])
    res = dump(repos["bare"], "list", "", "stat", "outside.yaml", "stat", "fnlink", "stat",
               "fnlink/orders.yaml", "stat", "vendor/lib", "stat", "run.yaml", "stat", "functions",
               "stat", "nope.yaml")
    assert res.rc == 0, res.err
    assert res.lines("path") == WANT[:2] + ["run.yaml", "top.yaml"]
    assert res.lines("stat") == ["symlink 0", "symlink 0", "symlink 0", "submodule 0", "file 10",
                                 "dir 0", "missing 0"]
    res = dump(repos["bare"], "read", "outside.yaml")
    assert res.rc == 1 and "error ELOOP" in res.err and "root:" not in res.out
    res = dump(repos["bare"], "read", "vendor/lib")
    assert res.rc == 1 and "error EINVAL" in res.err


def test_size_cap(dump, repos):
    gs.write(repos["work"], "big.yaml", "x" * 5000)
    gs.commit_all(repos["work"], "big")
    gs.push(repos["work"], repos["bare"])
    res = dump(repos["bare"], "stat", "big.yaml", "read", "big.yaml", max_bytes=4999)
    assert res.rc == 1
    assert res.one("stat") == "file 5000"
    assert "error E2BIG" in res.err
    res = dump(repos["bare"], "read", "big.yaml", max_bytes=5000)
    assert res.rc == 0 and res.out == "x" * 5000


@pytest.mark.parametrize("path", ["../work/top.yaml", "/etc/passwd", "functions/../top.yaml",
                                  "functions//orders.yaml", "./top.yaml"])
def test_path_traversal_refused(dump, repos, path):
    res = dump(repos["bare"], "read", path)
    assert res.rc == 1 and "error EINVAL" in res.err
    assert res.out == ""
