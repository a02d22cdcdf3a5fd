"""`aliasd versions FUNCTION` against the emulator: many versions over many
pages, weighted aliases, JSON output, and the error cases."""
import io
import json
import os
import re
import subprocess
import zipfile

import pytest

from emulator import Emulator

ROLE = "arn:aws:iam::123456789012:role/lambda-role"
N_VERSIONS = 120


def mkzip(text):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("app.py", text)
    return b.getvalue()


def env_for(emu, home, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(home)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(emu.env())
    env.update({k: str(v) for k, v in extra.items()})
    return env


def human(n):
    """What size_format() prints."""
    if n < 1024:
        return "%d B" % n
    v, units = n / 1024, ["KiB", "MiB", "GiB", "TiB"]
    u = 0
    while v >= 1024 - 0.05 and u + 1 < len(units):
        v, u = v / 1024, u + 1
    return "%.1f %s" % (v, units[u])


def run(aliasd_bin, args, env):
    return subprocess.run([aliasd_bin, "versions"] + args, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def big():
    """A function with 120 published versions (pages of 7) and weighted aliases."""
    with Emulator(update_delay=0, page_size=7) as emu:
        lam = emu.client(max_attempts=3)
        lam.create_function(FunctionName="orders", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": mkzip("0")}, Environment={"Variables": {"API_TOKEN": "tok-secret-1"}})
        emu.settle()
        shas, sizes = {}, {}
        for i in range(1, N_VERSIONS + 1):
            lam.update_function_code(FunctionName="orders", ZipFile=mkzip("print(%d)" % i))
            emu.settle()
            desc = "r%d @%07x: release number %d" % (i, 0xabc0000 + i, i) if i % 10 else "hand-made %d" % i
            v = lam.publish_version(FunctionName="orders", Description=desc)
            assert v["Version"] == str(i)
            shas[str(i)] = v["CodeSha256"]
            sizes[str(i)] = v["CodeSize"]
        sizes["$LATEST"] = lam.get_function_configuration(FunctionName="orders")["CodeSize"]
        lam.create_alias(FunctionName="orders", Name="Prod", FunctionVersion="118")
        lam.create_alias(FunctionName="orders", Name="Canary", FunctionVersion="119",
                         RoutingConfig={"AdditionalVersionWeights": {"120": 0.1}})
        lam.create_alias(FunctionName="orders", Name="Old", FunctionVersion="3", Description="legacy")
        lam.create_alias(FunctionName="orders", Name="Split", FunctionVersion="50",
                         RoutingConfig={"AdditionalVersionWeights": {"118": 0.125}})
        emu.shas, emu.sizes = shas, sizes
        yield emu


def test_table(big, aliasd_bin, tmp_path):
    emu = big
    before = emu.stats()["requests"].get("ListVersionsByFunction", 0)
    p = run(aliasd_bin, ["orders"], env_for(emu, tmp_path))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "orders: %d published versions" % N_VERSIONS
    header = lines[2]
    assert header.split() == ["VERSION", "RELEASE", "COMMIT", "LAST", "MODIFIED", "CODE", "SHA256", "SIZE",
                              "ALIASES", "DESCRIPTION"]
    rows = lines[3:3 + N_VERSIONS]
    assert [r.split()[0] for r in rows] == [str(i) for i in range(1, N_VERSIONS + 1)]
    # columns are aligned: every row's CODE SHA256 starts where the header's does
    col = header.index("CODE SHA256")
    for i, r in enumerate(rows, 1):
        assert r[col:].startswith(emu.shas[str(i)]), r
    # SIZE: each version's CodeSize in human units, the function's total after the table
    scol = header.index("SIZE")
    for i, r in enumerate(rows, 1):
        assert r[scol:].split("  ")[0] == "%d B" % emu.sizes[str(i)], r
    total = lines[3 + N_VERSIONS + 1]
    published = sum(v for k, v in emu.sizes.items() if k != "$LATEST")
    assert published > 1024
    assert total == "total code size: %s (published versions %s + $LATEST %d B)" % (
        human(published + emu.sizes["$LATEST"]), human(published), emu.sizes["$LATEST"]), total
    r7 = rows[6].split()
    assert r7[1:3] == ["r7", "%07x" % (0xabc0000 + 7)]
    assert rows[6].endswith("release number 7")
    r10 = rows[9].split()
    assert r10[1:3] == ["-", "-"] and rows[9].endswith("hand-made 10")
    assert "Old" in rows[2]
    assert "Split (87.5%)" in rows[49]
    assert "Prod, Split (12.5%)" in rows[117]
    assert "Canary (90%)" in rows[118]
    assert "Canary (10%)" in rows[119]
    assert "Prod" not in rows[118] and "Canary" not in rows[117]
    tail = "\n".join(lines[3 + N_VERSIONS:])
    assert re.search(r"^  Canary +→ 119 \(90%\) \+ 120 \(10%\)$", tail, re.M), tail
    assert re.search(r"^  Prod +→ 118$", tail, re.M), tail
    assert re.search(r"^  Old +→ 3$", tail, re.M), tail
    assert re.search(r"^  Split +→ 50 \(87\.5%\) \+ 118 \(12\.5%\)$", tail, re.M), tail
    # 121 items ($LATEST included) in pages of 7 = 18 pages, all followed
    assert emu.stats()["requests"]["ListVersionsByFunction"] - before == 18
    assert "tok-secret-1" not in p.stdout + p.stderr
    assert emu.secret_key not in p.stdout + p.stderr


def test_json(big, aliasd_bin, tmp_path):
    emu = big
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    p = run(aliasd_bin, ["--json", arn, "--region", "us-east-1"], env_for(emu, tmp_path))
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["function"] == arn and doc["region"] == "us-east-1"
    vs = doc["versions"]
    assert [v["version"] for v in vs] == [str(i) for i in range(1, N_VERSIONS + 1)]
    v7 = vs[6]
    assert v7["release"] == "r7" and v7["commit"] == "%07x" % (0xabc0000 + 7)
    assert v7["description"] == "release number 7"
    assert v7["rawDescription"] == "r7 @%07x: release number 7" % (0xabc0000 + 7)
    assert v7["codeSha256"] == emu.shas["7"]
    assert v7["codeSize"] == emu.sizes["7"] and v7["codeSize"] > 0
    published = sum(v for k, v in emu.sizes.items() if k != "$LATEST")
    assert doc["publishedCodeSize"] == published
    assert doc["latestCodeSize"] == emu.sizes["$LATEST"]
    assert doc["totalCodeSize"] == published + emu.sizes["$LATEST"]
    assert v7["lastModified"]
    assert vs[9]["release"] is None and vs[9]["description"] == "hand-made 10"
    assert vs[118]["aliases"] == [{"name": "Canary", "weight": pytest.approx(0.9)}]
    assert vs[119]["aliases"] == [{"name": "Canary", "weight": pytest.approx(0.1)}]
    assert sorted((a["name"], a["weight"]) for a in vs[117]["aliases"]) == [("Prod", 1), ("Split", 0.125)]
    aliases = {a["Name"]: a for a in doc["aliases"]}
    assert set(aliases) == {"Prod", "Canary", "Old", "Split"}
    assert aliases["Canary"]["FunctionVersion"] == "119"
    assert aliases["Canary"]["RoutingConfig"]["AdditionalVersionWeights"] == {"120": 0.1}
    assert aliases["Old"]["Description"] == "legacy"
    assert aliases["Prod"]["RoutingConfig"]["AdditionalVersionWeights"] == {}


def test_not_found_and_empty(big, aliasd_bin, tmp_path):
    emu = big
    p = run(aliasd_bin, ["nosuchfn"], env_for(emu, tmp_path))
    assert p.returncode == 1
    assert p.stdout == ""
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "function 'nosuchfn' not found in us-east-1" in err[0], p.stderr
    # a function with no published version
    emu.client().create_function(FunctionName="fresh", Runtime="python3.12", Role=ROLE, Handler="a.h",
                                 Code={"ZipFile": mkzip("1")})
    p = run(aliasd_bin, ["fresh"], env_for(emu, tmp_path))
    assert p.returncode == 0, p.stderr
    size = len(mkzip("1"))
    assert p.stdout.strip().splitlines() == [
        "fresh: 0 published versions", "",
        "total code size: %d B (published versions 0 B + $LATEST %d B)" % (size, size)], p.stdout
    p = run(aliasd_bin, ["fresh", "--json"], env_for(emu, tmp_path))
    doc = json.loads(p.stdout)
    assert doc["versions"] == [] and doc["totalCodeSize"] == size and doc["publishedCodeSize"] == 0


def test_no_credentials(big, aliasd_bin, tmp_path):
    env = env_for(big, tmp_path)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    p = run(aliasd_bin, ["orders"], env)
    assert p.returncode == 1
    err = p.stderr.strip().splitlines()
    assert len(err) == 1, p.stderr
    assert "environment" in err[0] and "credentials" in err[0].lower()
    # a credential lookup that finds nothing is not a missing function
    assert "no AWS credentials found" in err[0] and "function 'orders' not found" not in err[0], err[0]
    # a wrong secret: one line, the signature is named, nothing secret printed
    env = env_for(big, tmp_path, AWS_SECRET_ACCESS_KEY="not-the-secret", AWS_MAX_ATTEMPTS=5)
    p = run(aliasd_bin, ["orders"], env)
    assert p.returncode == 1
    assert len(p.stderr.strip().splitlines()) == 1
    assert "signature" in p.stderr and "not-the-secret" not in p.stderr


def test_no_region(big, aliasd_bin, tmp_path):
    env = env_for(big, tmp_path)
    del env["AWS_REGION"], env["AWS_DEFAULT_REGION"]
    p = run(aliasd_bin, ["orders"], env)
    assert p.returncode == 1 and "region" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    p = run(aliasd_bin, ["orders", "--region", "us-east-1"], env)
    assert p.returncode == 0, p.stderr
    # another region has no such function
    p = run(aliasd_bin, ["orders", "--region", "eu-west-1"], env)
    assert p.returncode == 1 and "not found in eu-west-1" in p.stderr


@pytest.mark.parametrize("args", [[], ["a", "b"], ["--bogus", "a"], ["a", "--region"], ["", ]])
def test_usage_errors(aliasd_bin, args, tmp_path):
    p = subprocess.run([aliasd_bin, "versions"] + args, capture_output=True, text=True, timeout=30,
                       env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)})
    assert p.returncode == 64, (args, p.stderr)
    assert p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "--help" in p.stderr


def test_help(aliasd_bin):
    for argv in (["versions", "--help"], ["versions", "-h"], ["help", "versions"]):
        p = subprocess.run([aliasd_bin] + argv, capture_output=True, text=True, timeout=30)
        assert p.returncode == 0
        assert p.stdout.startswith("usage: aliasd versions FUNCTION")
        assert "--json" in p.stdout and "--region" in p.stdout and "RELEASE @COMMIT" in p.stdout


def test_under_faults(aliasd_bin, tmp_path):
    with Emulator(update_delay=0, page_size=7) as emu:
        lam = emu.client(max_attempts=3)
        lam.create_function(FunctionName="f", Runtime="python3.12", Role=ROLE, Handler="a.h",
                            Code={"ZipFile": mkzip("0")})
        for i in range(1, 21):
            lam.update_function_configuration(FunctionName="f", Environment={"Variables": {"N": str(i)}})
            emu.settle()
            lam.publish_version(FunctionName="f", Description="v%d @%07x: x" % (i, i))
        lam.create_alias(FunctionName="f", Name="Prod", FunctionVersion="20")
        emu.configure(throttle_rate=0.1, error_rate=0.05, reset_rate=0.03, seed=11)
        env = env_for(emu, tmp_path, AWS_MAX_ATTEMPTS=10, ALIASD_AWS_RETRY_BASE_MS=5,
                      ALIASD_AWS_RETRY_AFTER_MAX_MS=20)
        for _ in range(3):
            p = run(aliasd_bin, ["f", "--json"], env)
            assert p.returncode == 0, p.stderr
            doc = json.loads(p.stdout)
            assert [v["version"] for v in doc["versions"]] == [str(i) for i in range(1, 21)]
            assert doc["versions"][19]["aliases"] == [{"name": "Prod", "weight": 1}]
        assert sum(emu.stats()["faults"].values()) > 0
