"""Each credential source of aws/credentials.c against loopback servers.

Driven through tests/tools/aws_credentials_dump with a clean environment (HOME
in a temp dir, IMDS disabled unless a test turns it on), so nothing from the
machine leaks in.  The tool prints the access key id and a SHA-256 prefix of
the secret and token, never the secret.
"""
import stat
import textwrap

import pytest

from fake_servers import FakeECS, FakeIMDS, FakeSTS, clean_env, run_dump, sha16, write_aws_files

SECRET_A = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SECRET_B = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"


def _ok(rc, lines, raw):
    assert rc == 0, raw
    assert len(lines) >= 1 and all(l["status"] == "ok" for l in lines), raw
    return lines[0]


# ---- environment --------------------------------------------------------------

def test_env_static_keys(build_dir, tmp_path):
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID="AKIAENV1", AWS_SECRET_ACCESS_KEY=SECRET_A,
                    AWS_SESSION_TOKEN="sess/token+=")
    got = _ok(*run_dump(build_dir, env))
    assert got["source"] == "environment"
    assert got["akid"] == "AKIAENV1"
    assert got["secret_sha256"] == sha16(SECRET_A)
    assert got["token_sha256"] == sha16("sess/token+=")
    assert got["expires_in"] == "never"


@pytest.mark.parametrize("present,missing", [("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
                                             ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")])
def test_env_incomplete_pair_names_missing(build_dir, tmp_path, present, missing):
    env = clean_env(tmp_path, **{present: "AKIAENV1" if present == "AWS_ACCESS_KEY_ID" else SECRET_A})
    write_aws_files(tmp_path, credentials=f"[default]\naws_access_key_id = AKIAPROF\naws_secret_access_key = {SECRET_B}\n")
    rc, lines, raw = run_dump(build_dir, env)
    assert rc == 1
    assert lines[0]["status"] == "error" and lines[0]["code"] == -22
    assert f"{missing} is missing" in lines[0]["msg"]
    assert SECRET_A not in raw and SECRET_B not in raw  # an incomplete env never falls through silently


# ---- shared files -------------------------------------------------------------

def test_profile_default_from_credentials_file(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials=textwrap.dedent(f"""\
        # comment
        [default]
        aws_access_key_id = AKIADEFAULT
        aws_secret_access_key = {SECRET_A}
        [other]
        aws_access_key_id = AKIAOTHER
        aws_secret_access_key = {SECRET_B}
        """))
    got = _ok(*run_dump(build_dir, clean_env(tmp_path)))
    assert (got["source"], got["akid"], got["secret_sha256"]) == ("profile:default", "AKIADEFAULT", sha16(SECRET_A))
    got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="other")))
    assert (got["source"], got["akid"], got["secret_sha256"]) == ("profile:other", "AKIAOTHER", sha16(SECRET_B))
    got = _ok(*run_dump(build_dir, clean_env(tmp_path), "--profile", "other"))
    assert got["akid"] == "AKIAOTHER"


def test_profile_from_config_file_and_precedence(build_dir, tmp_path):
    write_aws_files(tmp_path,
                    credentials=f"[dev]\naws_access_key_id = AKIACREDFILE\naws_secret_access_key = {SECRET_A}\n",
                    config=textwrap.dedent(f"""\
                        [profile dev]
                        aws_access_key_id = AKIACONFIG
                        aws_secret_access_key = {SECRET_B}
                        [profile   cfgonly]
                        region = eu-west-1
                        aws_access_key_id=AKIACFGONLY
                        aws_secret_access_key={SECRET_B}
                        """))
    # the credentials file wins over the config file for the same profile
    got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="dev")))
    assert got["akid"] == "AKIACREDFILE"
    got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="cfgonly")))
    assert (got["akid"], got["secret_sha256"]) == ("AKIACFGONLY", sha16(SECRET_B))


def test_profile_files_from_env_paths(build_dir, tmp_path):
    creds = tmp_path / "elsewhere-creds"
    creds.write_text(f"[default]\naws_access_key_id = AKIAPATH\naws_secret_access_key = {SECRET_A}\n")
    got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_SHARED_CREDENTIALS_FILE=creds,
                                              AWS_CONFIG_FILE=tmp_path / "missing-config")))
    assert got["akid"] == "AKIAPATH"


def test_explicit_profile_missing_is_an_error(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials=f"[default]\naws_access_key_id = AKIAX\naws_secret_access_key = {SECRET_A}\n")
    rc, lines, raw = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="nope"))
    assert rc == 1 and lines[0]["code"] == -2
    assert "profile nope: not found" in lines[0]["msg"]


def test_profile_incomplete_keys(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials="[default]\naws_access_key_id = AKIAONLY\n")
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 1 and "aws_secret_access_key missing" in lines[0]["msg"]


def test_malformed_credentials_file(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials="[default]\naws_access_key_id = AKIAX\nthis line has no equals sign\n")
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 1 and lines[0]["code"] == -22
    assert lines[0]["msg"].startswith(f"{tmp_path}/.aws/credentials:3:1: "), lines[0]["msg"]
    assert 'expected "key = value"' in lines[0]["msg"]


def test_oversized_credentials_file(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials="#" * (1024 * 1024 + 1))
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 1 and lines[0]["code"] == -7
    assert f"{tmp_path}/.aws/credentials: larger than 1048576 bytes" in lines[0]["msg"], lines[0]["msg"]


# ---- credential_process ----------------------------------------------------------

def _script(tmp_path, name, body):
    p = tmp_path / name
    p.write_text("#!/bin/sh\n" + body)
    p.chmod(p.stat().st_mode | stat.S_IXUSR)
    return p


def test_credential_process(build_dir, tmp_path):
    script = _script(tmp_path, "creds.sh", textwrap.dedent(f"""\
        echo "called with $1" >> "{tmp_path}/calls"
        cat <<'JSON'
        {{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "{SECRET_B}",
          "SessionToken": "proc-token", "Expiration": "2099-01-01T00:00:00Z"}}
        JSON
        """))
    write_aws_files(tmp_path, config=f"[default]\ncredential_process = {script} arg1\n")
    got = _ok(*run_dump(build_dir, clean_env(tmp_path)))
    assert (got["source"], got["akid"]) == ("process", "ASIAPROC")
    assert got["secret_sha256"] == sha16(SECRET_B) and got["token_sha256"] == sha16("proc-token")
    assert got["expires_in"] != "never" and int(got["expires_in"]) > 3600
    assert (tmp_path / "calls").read_text() == "called with arg1\n"


def test_credential_process_without_expiration_never_expires(build_dir, tmp_path):
    script = _script(tmp_path, "c.sh", f'echo \'{{"Version":1,"AccessKeyId":"AKIAPROC2","SecretAccessKey":"{SECRET_A}"}}\'\n')
    write_aws_files(tmp_path, config=f"[profile p]\ncredential_process = {script}\n")
    got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="p")))
    assert got["akid"] == "AKIAPROC2" and got["expires_in"] == "never" and got["token_sha256"] == "-"


@pytest.mark.parametrize("body,needle", [
    ("echo oops >&2; exit 3\n", "exited with status 3"),
    ("echo 'not json'\n", "not a JSON object"),
    (f'echo \'{{"Version":2,"AccessKeyId":"AKIAX","SecretAccessKey":"{SECRET_A}"}}\'\n', "Version"),
    ('echo \'{"Version":1,"AccessKeyId":"AKIAX"}\'\n', "no secret access key"),
    ("head -c 200000 /dev/zero | tr '\\0' a\n", "over"),
])
def test_credential_process_failures(build_dir, tmp_path, body, needle):
    script = _script(tmp_path, "bad.sh", body)
    write_aws_files(tmp_path, config=f"[default]\ncredential_process = {script}\n")
    rc, lines, raw = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 1 and lines[0]["status"] == "error"
    assert needle in lines[0]["msg"], lines[0]["msg"]
    assert SECRET_A not in raw


# ---- ECS ------------------------------------------------------------------------

def test_ecs_relative_uri(build_dir, tmp_path):
    with FakeECS(path="/v2/credentials/task-1") as ecs:
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/task-1",
                        AWS_CONTAINER_CREDENTIALS_HOST_OVERRIDE=f"127.0.0.1:{ecs.port}")
        got = _ok(*run_dump(build_dir, env))
        issued = ecs.calls[0]["issued"]
    assert (got["source"], got["akid"]) == ("ecs", issued["AccessKeyId"])
    assert got["secret_sha256"] == sha16(issued["SecretAccessKey"])
    assert got["token_sha256"] == sha16(issued["Token"])
    assert 3500 < int(got["expires_in"]) <= 3601  # the fake stamps its own second: one past ours


def test_ecs_full_uri_with_token_file(build_dir, tmp_path):
    tok = tmp_path / "eks-token"
    tok.write_text("eks-pod-identity-token\n")
    with FakeECS(path="/creds", token="eks-pod-identity-token") as ecs:
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/creds",
                        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=tok, AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong")
        got = _ok(*run_dump(build_dir, env))
        assert ecs.calls[0]["headers"]["authorization"] == "eks-pod-identity-token"
    assert got["source"] == "ecs"


def test_ecs_token_env_and_refusal(build_dir, tmp_path):
    with FakeECS(path="/creds", token="right") as ecs:
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/creds",
                        AWS_CONTAINER_AUTHORIZATION_TOKEN="right")
        _ok(*run_dump(build_dir, env))
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong"
        rc, lines, _ = run_dump(build_dir, env)
    assert rc == 1 and lines[0]["code"] == -13 and "HTTP 401" in lines[0]["msg"]


def test_ecs_full_uri_plain_http_must_be_local(build_dir, tmp_path):
    env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI="http://203.0.113.7/creds")
    rc, lines, _ = run_dump(build_dir, env)
    assert rc == 1 and lines[0]["code"] == -22 and "loopback" in lines[0]["msg"]


# ---- IMDSv2 ------------------------------------------------------------------------

def test_imds_v2(build_dir, tmp_path):
    with FakeIMDS(role="my-instance-role") as imds:
        env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url + "/")
        got = _ok(*run_dump(build_dir, env))
        calls = [(c["method"], c["path"]) for c in imds.calls]
        issued = imds.calls[-1]["issued"]
        put = imds.calls[0]
    assert calls == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
                     ("GET", "/latest/meta-data/iam/security-credentials/my-instance-role")]
    assert int(put["headers"]["x-aws-ec2-metadata-token-ttl-seconds"]) > 0
    assert (got["source"], got["akid"]) == ("imds", issued["AccessKeyId"])
    assert got["secret_sha256"] == sha16(issued["SecretAccessKey"])


def test_imds_no_role(build_dir, tmp_path):
    with FakeIMDS(role="") as imds:
        env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, lines, _ = run_dump(build_dir, env)
    assert rc == 1 and "no IAM role" in lines[0]["msg"] and lines[0]["msg"].count("imds") >= 1


def test_imds_code_not_success(build_dir, tmp_path):
    with FakeIMDS() as imds:
        imds.code = "AssumeRoleUnauthorizedAccess"
        env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, lines, raw = run_dump(build_dir, env)
        issued = imds.calls[-1]["issued"]
    assert rc == 1 and "Code AssumeRoleUnauthorizedAccess" in lines[0]["msg"]
    assert issued["AccessKeyId"] not in raw


def test_imds_unreachable_is_quick(build_dir, tmp_path):
    import socket
    import time
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{port}")
    t0 = time.monotonic()
    rc, lines, _ = run_dump(build_dir, env)
    assert rc == 1 and lines[0]["code"] == -111  # ECONNREFUSED
    assert "imds" in lines[0]["msg"]
    assert time.monotonic() - t0 < 10


# ---- STS: web identity and assume role ---------------------------------------------

def test_web_identity_env(build_dir, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("eyJhbGciOi.web.identity\n")
    with FakeSTS(web_token="eyJhbGciOi.web.identity") as sts:
        env = clean_env(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=tok, AWS_ROLE_ARN="arn:aws:iam::123456789012:role/ci",
                        AWS_ROLE_SESSION_NAME="my-session", AWS_ENDPOINT_URL_STS=sts.url)
        got = _ok(*run_dump(build_dir, env))
        call = sts.calls[0]
    assert call["form"]["Action"] == "AssumeRoleWithWebIdentity"
    assert call["form"]["RoleArn"] == "arn:aws:iam::123456789012:role/ci"
    assert call["form"]["RoleSessionName"] == "my-session"
    assert "authorization" not in call["headers"]
    assert (got["source"], got["akid"]) == ("web-identity", call["issued"]["AccessKeyId"])
    assert got["secret_sha256"] == sha16(call["issued"]["SecretAccessKey"])
    assert got["token_sha256"] == sha16(call["issued"]["Token"])


def test_web_identity_refused(build_dir, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("stale")
    with FakeSTS(web_token="fresh") as sts:
        env = clean_env(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=tok, AWS_ROLE_ARN="arn:aws:iam::1:role/r",
                        AWS_ENDPOINT_URL=sts.url)
        rc, lines, raw = run_dump(build_dir, env)
    assert rc == 1 and lines[0]["code"] == -13
    assert "InvalidIdentityToken" in lines[0]["msg"] and "stale" not in raw


@pytest.mark.parametrize("content,code,needle", [(None, -2, "No such file or directory"),
                                                 ("t" * (64 * 1024 + 1), -7, "larger than 65536 bytes")])
def test_web_identity_token_file_unreadable(build_dir, tmp_path, content, code, needle):
    tok = tmp_path / "token"
    if content is not None:
        tok.write_text(content)
    env = clean_env(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=tok, AWS_ROLE_ARN="arn:aws:iam::1:role/r")
    rc, lines, _ = run_dump(build_dir, env)
    assert rc == 1 and lines[0]["code"] == code, lines
    assert "cannot read the token file" in lines[0]["msg"] and f"{tok}: {needle}" in lines[0]["msg"], lines[0]["msg"]


def test_web_identity_needs_role_arn(build_dir, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("t")
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path, AWS_WEB_IDENTITY_TOKEN_FILE=tok))
    assert rc == 1 and "AWS_ROLE_ARN is missing" in lines[0]["msg"]


def test_assume_role_signed_with_source_profile(build_dir, tmp_path):
    write_aws_files(tmp_path,
                    credentials=f"[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = {SECRET_A}\n",
                    config=textwrap.dedent("""\
                        [profile deploy]
                        role_arn = arn:aws:iam::123456789012:role/deployer
                        source_profile = base
                        role_session_name = aliasd-test
                        external_id = ext-42
                        duration_seconds = 1800
                        region = eu-west-1
                        """))
    with FakeSTS(keys={"AKIABASE": SECRET_A}) as sts:
        env = clean_env(tmp_path, AWS_PROFILE="deploy")
        got = _ok(*run_dump(build_dir, env, "--sts-endpoint", sts.url))
        call = sts.calls[0]
    assert "problem" not in call, call.get("problem")
    assert call["signed_by"] == "AKIABASE"  # botocore verified the signature with SECRET_A
    assert "/eu-west-1/sts/aws4_request" in call["headers"]["authorization"]
    f = call["form"]
    assert (f["Action"], f["RoleArn"], f["RoleSessionName"], f["ExternalId"], f["DurationSeconds"]) == (
        "AssumeRole", "arn:aws:iam::123456789012:role/deployer", "aliasd-test", "ext-42", "1800")
    assert (got["source"], got["akid"]) == ("assume-role", call["issued"]["AccessKeyId"])
    assert got["token_sha256"] == sha16(call["issued"]["Token"])


def test_assume_role_chain(build_dir, tmp_path):
    # top -> middle (a role itself) -> base (static keys): two AssumeRole calls,
    # the second signed with the first's temporary credentials and session token
    write_aws_files(tmp_path, config=textwrap.dedent(f"""\
        [profile base]
        aws_access_key_id = AKIABASE
        aws_secret_access_key = {SECRET_A}
        [profile middle]
        role_arn = arn:aws:iam::1:role/middle
        source_profile = base
        [profile top]
        role_arn = arn:aws:iam::2:role/top
        source_profile = middle
        """))
    with FakeSTS(keys={"AKIABASE": SECRET_A}) as sts:
        # the fake accepts the credentials it hands out
        orig = sts.next_creds

        def issue(prefix):
            c = orig(prefix)
            sts.keys[c["AccessKeyId"]] = c["SecretAccessKey"]
            return c
        sts.next_creds = issue
        got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="top", AWS_ENDPOINT_URL_STS=sts.url)))
        calls = list(sts.calls)
    assert [c["form"]["RoleArn"] for c in calls] == ["arn:aws:iam::1:role/middle", "arn:aws:iam::2:role/top"]
    assert calls[0]["signed_by"] == "AKIABASE" and calls[0]["session_token"] is None
    assert calls[1]["signed_by"] == calls[0]["issued"]["AccessKeyId"]
    assert calls[1]["session_token"] == calls[0]["issued"]["Token"]
    assert got["akid"] == calls[1]["issued"]["AccessKeyId"]


def test_assume_role_loop_detected(build_dir, tmp_path):
    write_aws_files(tmp_path, config=textwrap.dedent("""\
        [profile a]
        role_arn = arn:aws:iam::1:role/a
        source_profile = b
        [profile b]
        role_arn = arn:aws:iam::1:role/b
        source_profile = a
        """))
    with FakeSTS() as sts:
        rc, lines, _ = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="a", AWS_ENDPOINT_URL_STS=sts.url))
        assert sts.calls == []
    assert rc == 1 and lines[0]["code"] == -40 and "loop" in lines[0]["msg"]


def test_assume_role_chain_too_long(build_dir, tmp_path):
    cfg = [f"[profile p0]\naws_access_key_id = AKIAP0\naws_secret_access_key = {SECRET_A}\n"]
    for i in range(1, 12):
        cfg.append(f"[profile p{i}]\nrole_arn = arn:aws:iam::1:role/r{i}\nsource_profile = p{i - 1}\n")
    write_aws_files(tmp_path, config="".join(cfg))
    with FakeSTS() as sts:
        rc, lines, _ = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="p11", AWS_ENDPOINT_URL_STS=sts.url))
        assert sts.calls == []
    assert rc == 1 and lines[0]["code"] == -40 and "chain longer" in lines[0]["msg"]


def test_assume_role_self_source(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials=textwrap.dedent(f"""\
        [default]
        aws_access_key_id = AKIASELF
        aws_secret_access_key = {SECRET_B}
        role_arn = arn:aws:iam::1:role/self
        source_profile = default
        """))
    with FakeSTS(keys={"AKIASELF": SECRET_B}) as sts:
        got = _ok(*run_dump(build_dir, clean_env(tmp_path, AWS_ENDPOINT_URL_STS=sts.url)))
        assert sts.calls[0]["signed_by"] == "AKIASELF"
    assert got["source"] == "assume-role"


def test_assume_role_access_denied(build_dir, tmp_path):
    write_aws_files(tmp_path, config=textwrap.dedent(f"""\
        [profile base]
        aws_access_key_id = AKIABASE
        aws_secret_access_key = {SECRET_A}
        [profile r]
        role_arn = arn:aws:iam::1:role/r
        source_profile = base
        """))
    with FakeSTS(keys={"AKIABASE": "a-different-secret"}) as sts:
        rc, lines, raw = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="r", AWS_ENDPOINT_URL_STS=sts.url))
    assert rc == 1 and lines[0]["code"] == -13
    assert "SignatureDoesNotMatch" in lines[0]["msg"] and "profile r" in lines[0]["msg"]
    assert SECRET_A not in raw


def test_role_arn_alone_is_not_web_identity(build_dir, tmp_path):
    env = clean_env(tmp_path, AWS_ROLE_ARN="arn:aws:iam::1:role/r", AWS_ACCESS_KEY_ID=None)
    write_aws_files(tmp_path, credentials=f"[default]\naws_access_key_id = AKIAPROF\naws_secret_access_key = {SECRET_A}\n")
    got = _ok(*run_dump(build_dir, env))
    assert got["source"] == "profile:default"


def test_sso_profile_is_explained(build_dir, tmp_path):
    write_aws_files(tmp_path, config=textwrap.dedent("""\
        [profile sso]
        sso_session = corp
        sso_account_id = 123456789012
        sso_role_name = Admin
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        """))
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="sso"))
    assert rc == 1 and lines[0]["code"] == -22
    assert "SSO" in lines[0]["msg"] and "credential_process" in lines[0]["msg"]


def _gone(pid):
    """True when the process no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("inline,needle", [
    # a script that hangs with stdout open: killed, with its children (own process group)
    (False, "did not finish"),
    # a shell command that closes stdout, then hangs: killed when the time is up
    (True, "did not exit"),
])
def test_credential_process_timeout(build_dir, tmp_path, inline, needle):
    import time
    if inline:
        cmd = f'exec >&- ; sleep 30 & echo $! > "{tmp_path}/child"; wait'
    else:
        cmd = str(_script(tmp_path, "hang.sh", f'sleep 30 &\necho $! > "{tmp_path}/child"\nwait\n'))
    write_aws_files(tmp_path, config=f"[default]\ncredential_process = {cmd}\n")
    t0 = time.monotonic()
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path), "--process-timeout-ms", 700)
    elapsed = time.monotonic() - t0
    assert rc == 1 and lines[0]["code"] == -110 and needle in lines[0]["msg"], lines
    assert 0.6 < elapsed < 10
    child = int((tmp_path / "child").read_text())
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child), "the credential_process child survived"


def test_assume_role_with_credential_source_environment(build_dir, tmp_path):
    write_aws_files(tmp_path, config="[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n")
    with FakeSTS(keys={"AKIAENVSRC": SECRET_B}) as sts:
        # AWS_PROFILE names the profile, but the env keys win the chain... unless they are only
        # the credential_source: remove them and the profile alone has nothing to sign with
        env = clean_env(tmp_path, AWS_PROFILE="ci", AWS_ENDPOINT_URL_STS=sts.url)
        rc, lines, _ = run_dump(build_dir, env)
        assert rc == 1 and "credential_source Environment is not available" in lines[0]["msg"]
        env.update(AWS_ACCESS_KEY_ID="AKIAENVSRC", AWS_SECRET_ACCESS_KEY=SECRET_B)
        got = _ok(*run_dump(build_dir, env))
        assert got["source"] == "environment"  # the environment comes first in the chain
        assert sts.calls == []
