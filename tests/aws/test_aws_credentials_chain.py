"""The credential chain as a whole: order of precedence, caching and refresh
of temporary credentials on a simulated clock, the "nothing found" message,
region resolution.  Driven through tests/tools/aws_credentials_dump.
"""
import textwrap

from fake_servers import FakeECS, FakeIMDS, FakeSTS, clean_env, run_dump, sha16, write_aws_files

SECRET_ENV = "envSECRETenvSECRETenvSECRETenvSECRET0000"
SECRET_PROF = "profSECRETprofSECRETprofSECRETprofSECRE1"


def _source(build_dir, env, *args):
    rc, lines, raw = run_dump(build_dir, env, *args)
    assert rc == 0, raw
    return lines[0]["source"], lines[0]["akid"]


def test_precedence(build_dir, tmp_path):
    """env > web identity > profile > ECS > IMDS: remove the winner, the next one wins."""
    tok = tmp_path / "wi-token"
    tok.write_text("wi")
    write_aws_files(tmp_path, credentials=f"[default]\naws_access_key_id = AKIAPROF\naws_secret_access_key = {SECRET_PROF}\n")
    with FakeSTS(web_token="wi") as sts, FakeECS(path="/c") as ecs, FakeIMDS() as imds:
        env = clean_env(tmp_path,
                        AWS_ACCESS_KEY_ID="AKIAENV", AWS_SECRET_ACCESS_KEY=SECRET_ENV,
                        AWS_WEB_IDENTITY_TOKEN_FILE=tok, AWS_ROLE_ARN="arn:aws:iam::1:role/wi",
                        AWS_ENDPOINT_URL_STS=sts.url,
                        AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c",
                        AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        assert _source(build_dir, env) == ("environment", "AKIAENV")
        assert sts.calls == [] and ecs.calls == [] and imds.calls == []  # later sources not even asked

        del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        src, akid = _source(build_dir, env)
        assert src == "web-identity" and akid.startswith("ASIASTS")

        del env["AWS_WEB_IDENTITY_TOKEN_FILE"], env["AWS_ROLE_ARN"]
        assert _source(build_dir, env) == ("profile:default", "AKIAPROF")

        (tmp_path / ".aws" / "credentials").unlink()
        src, akid = _source(build_dir, env)
        assert src == "ecs" and akid.startswith("ASIAECS")

        del env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        src, akid = _source(build_dir, env)
        assert src == "imds" and akid.startswith("ASIAIMDS")
        assert len(ecs.calls) == 1 and len(sts.calls) == 1


def test_default_profile_without_keys_falls_through(build_dir, tmp_path):
    # a default profile holding only a region is common: the chain goes on to ECS
    write_aws_files(tmp_path, config="[default]\nregion = eu-central-1\n")
    with FakeECS(path="/c") as ecs:
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c")
        assert _source(build_dir, env)[0] == "ecs"


def test_nothing_found_lists_every_source(build_dir, tmp_path):
    rc, lines, raw = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 1 and len(lines) == 1
    msg = lines[0]["msg"]
    assert lines[0]["code"] == -2
    assert "\n" not in msg.strip()
    for needle in ("environment: AWS_ACCESS_KEY_ID not set", "web-identity:", "profile default: not found",
                   "ecs:", "imds: disabled"):
        assert needle in msg, msg
    # what to do first, then what was tried, in the order the SDK tries them
    assert msg.startswith("no AWS credentials found: set AWS_PROFILE"), msg
    tried = msg[msg.index("(tried "):]
    assert tried.index("environment") < tried.index("web-identity") < tried.index("profile") < tried.index("ecs") < tried.index("imds")


def test_failure_of_last_source_keeps_the_list(build_dir, tmp_path):
    with FakeIMDS(role="") as imds:
        env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, lines, _ = run_dump(build_dir, env)
    msg = lines[0]["msg"]
    assert rc == 1 and "environment: AWS_ACCESS_KEY_ID not set" in msg and "imds: no IAM role" in msg


def test_static_credentials_cached(build_dir, tmp_path):
    env = clean_env(tmp_path, AWS_ACCESS_KEY_ID="AKIAENV", AWS_SECRET_ACCESS_KEY=SECRET_ENV)
    rc, lines, raw = run_dump(build_dir, env, "--get", 3, "--advance", 86400 * 365)
    assert rc == 0 and [l["akid"] for l in lines] == ["AKIAENV"] * 3
    assert all(l["secret_sha256"] == sha16(SECRET_ENV) for l in lines)


def test_temporary_credentials_cached_until_refresh_window(build_dir, tmp_path):
    with FakeECS(path="/c") as ecs:
        ecs.expires_in = 3600
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c")
        # t=0, t=20min, t=40min: one fetch (expires at 60 min, refresh from 55 min)
        rc, lines, raw = run_dump(build_dir, env, "--get", 3, "--advance", 1200)
        assert rc == 0, raw
        assert len(ecs.calls) == 1
        assert len({l["akid"] for l in lines}) == 1
        # the simulated clock moved 20 min between gets (the fake stamps the expiry by its own
        # clock, whose second may be one past the tool's: compare the gets, not a fixed bound)
        left = [int(l["expires_in"]) for l in lines]
        assert left[0] - left[1] == 1200 and left[1] - left[2] == 1200, left
        assert 3595 <= left[0] <= 3601, left


def test_refresh_before_expiry(build_dir, tmp_path):
    with FakeECS(path="/c") as ecs:
        ecs.expires_in = 900  # 15 min
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c")
        # second call at +11 min: inside the 5-minute refresh window -> fetched again
        rc, lines, raw = run_dump(build_dir, env, "--get", 2, "--advance", 660)
        assert rc == 0, raw
        assert len(ecs.calls) == 2
        assert lines[0]["akid"] != lines[1]["akid"]
        assert lines[1]["akid"] == ecs.calls[1]["issued"]["AccessKeyId"]


def test_refresh_for_sts_and_imds(build_dir, tmp_path):
    write_aws_files(tmp_path, config=textwrap.dedent(f"""\
        [profile base]
        aws_access_key_id = AKIABASE
        aws_secret_access_key = {SECRET_PROF}
        [profile r]
        role_arn = arn:aws:iam::1:role/r
        source_profile = base
        """))
    with FakeSTS(keys={"AKIABASE": SECRET_PROF}) as sts:
        sts.expires_in = 600
        rc, lines, raw = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="r", AWS_ENDPOINT_URL_STS=sts.url),
                                  "--get", 2, "--advance", 400)
        assert rc == 0, raw
        # (the fake's expirations follow the real clock, the tool's the simulated one:
        # two calls are what fits before the simulated clock passes them)
        assert len(sts.calls) == 2 and len({l["akid"] for l in lines}) == 2
    with FakeIMDS() as imds:
        imds.expires_in = 1200
        env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, lines, raw = run_dump(build_dir, env, "--get", 2, "--advance", 1000)
        assert rc == 0, raw
        assert lines[0]["akid"] != lines[1]["akid"]
        assert sum(1 for c in imds.calls if c["method"] == "PUT") == 2


def fail_after_first(server, status):
    """From its second request on, `server` answers HTTP `status`."""
    orig = server.handle

    def flaky(h, method, call):
        if len(server.calls) > 1:
            return h._reply(status, "{}")
        return orig(h, method, call)
    server.handle = flaky


def test_failed_refresh_uses_old_credentials_until_they_expire(build_dir, tmp_path):
    with FakeECS(path="/c") as ecs:
        ecs.expires_in = 900
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c")
        # fail every request after the first: the process is the same, the clock is simulated
        fail_after_first(ecs, 500)
        # t=0 fetch; t=11min refresh fails, old ones still valid (expire at 15 min);
        # t=22min refresh fails and they are expired -> error, never expired credentials
        rc, lines, raw = run_dump(build_dir, env, "--get", 3, "--advance", 660)
    assert rc == 1
    assert lines[0]["status"] == "ok" and lines[1]["status"] == "ok"
    assert lines[0]["akid"] == lines[1]["akid"]
    assert 0 < int(lines[1]["expires_in"]) <= 241  # 15 - 11 min; the fake stamps its own second
    assert lines[2]["status"] == "error" and "HTTP 500" in lines[2]["msg"]


def test_failed_refresh_is_retried_after_a_pause(build_dir, tmp_path):
    with FakeECS(path="/c") as ecs:
        ecs.expires_in = 900
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c")
        fail_after_first(ecs, 503)
        # 0: fetch; 610: in the refresh window, refresh fails -> cached, pause 30 s;
        # 620 and 630: inside the pause -> cached, no request; 645: retried (fails) -> cached
        rc, lines, raw = run_dump(build_dir, env, "--at", "0,610,620,630,645")
        assert rc == 0, raw
        assert len({l["akid"] for l in lines}) == 1
        assert len(ecs.calls) == 3


def test_already_expired_credentials_refused(build_dir, tmp_path):
    script = tmp_path / "c.sh"
    script.write_text('#!/bin/sh\necho \'{"Version":1,"AccessKeyId":"AKIAOLD","SecretAccessKey":"s",'
                      '"Expiration":"2001-01-01T00:00:00Z"}\'\n')
    script.chmod(0o755)
    write_aws_files(tmp_path, config=f"[default]\ncredential_process = {script}\n")
    rc, lines, raw = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 1 and "expired" in lines[0]["msg"] and "AKIAOLD" not in raw.replace(lines[0]["msg"], "")


def test_threads_share_one_fetch(build_dir, tmp_path):
    with FakeECS(path="/c") as ecs:
        env = clean_env(tmp_path, AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url + "/c")
        rc, lines, raw = run_dump(build_dir, env, "--threads", 8, "--get", 5)
        assert rc == 0, raw
        assert len(lines) == 40 and len({l["akid"] for l in lines}) == 1
        assert len(ecs.calls) == 1


def test_secrets_never_printed(build_dir, tmp_path):
    write_aws_files(tmp_path, credentials=f"[default]\naws_access_key_id = AKIAPROF\naws_secret_access_key = {SECRET_PROF}\n"
                                          "aws_session_token = SESSIONTOKENVALUE\n")
    rc, lines, raw = run_dump(build_dir, clean_env(tmp_path))
    assert rc == 0 and SECRET_PROF not in raw and "SESSIONTOKENVALUE" not in raw
    assert lines[0]["token_sha256"] == sha16("SESSIONTOKENVALUE")


# ---- region --------------------------------------------------------------------

def test_region_resolution(build_dir, tmp_path):
    write_aws_files(tmp_path, config=textwrap.dedent("""\
        [default]
        region = eu-west-3
        [profile dev]
        region = ap-south-1
        s3 =
          max_concurrent_requests = 10
        """))

    def region(**env):
        rc, _, raw = run_dump(build_dir, clean_env(tmp_path, **env), "--region")
        return raw.strip()

    assert region() == "region=eu-west-3"
    assert region(AWS_PROFILE="dev") == "region=ap-south-1"
    assert region(AWS_PROFILE="dev", AWS_DEFAULT_REGION="us-west-2") == "region=us-west-2"
    assert region(AWS_PROFILE="dev", AWS_DEFAULT_REGION="us-west-2", AWS_REGION="sa-east-1") == "region=sa-east-1"
    rc, lines, _ = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="nope"), "--region")
    assert rc == 1 and lines[0]["code"] == -2 and "AWS_REGION" in lines[0]["msg"]


def test_sts_region_and_default_endpoint_from_profile(build_dir, tmp_path):
    write_aws_files(tmp_path, config=textwrap.dedent(f"""\
        [profile base]
        aws_access_key_id = AKIABASE
        aws_secret_access_key = {SECRET_PROF}
        [profile r]
        role_arn = arn:aws:iam::1:role/r
        source_profile = base
        region = ca-central-1
        """))
    with FakeSTS(keys={"AKIABASE": SECRET_PROF}) as sts:
        rc, lines, raw = run_dump(build_dir, clean_env(tmp_path, AWS_PROFILE="r", AWS_ENDPOINT_URL=sts.url))
        assert rc == 0, raw
        assert "/ca-central-1/sts/aws4_request" in sts.calls[0]["headers"]["authorization"]
        assert sts.calls[0]["headers"]["host"] == f"127.0.0.1:{sts.port}"


def test_failed_lookup_is_remembered_briefly(build_dir, tmp_path):
    """Many calls at once after a failure get the same error without asking every source
    again (an unreachable IMDS costs seconds each); after AWS_CREDENTIALS_FAIL_CACHE_S (10 s)
    the chain is tried again."""
    with FakeIMDS(role="") as imds:
        env = clean_env(tmp_path, AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        rc, lines, raw = run_dump(build_dir, env, "--at", "0,1,5,9")
        assert rc == 1 and len(lines) == 4, raw
        assert all(l["status"] == "error" and "imds: no IAM role" in l["msg"] for l in lines), raw
        assert len({l["msg"] for l in lines}) == 1
        first = len(imds.calls)
        assert first > 0
        rc, lines, raw = run_dump(build_dir, env, "--at", "0,10")
        assert rc == 1 and len(lines) == 2, raw
        assert len(imds.calls) == 3 * first  # this process asked twice: at 0 and at 10
