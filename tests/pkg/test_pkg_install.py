"""`make install` (PREFIX, DESTDIR): the same files as the package, in the
places of a local install, the example config never overwriting aliasd.yaml."""
import os
import re
import subprocess

import pytest

import pkgdocs

# `make man` and `make install` both write $BUILD/man/ (and install $BUILD/aliasd.txt):
# in a parallel run the two modules share one xdist worker, never racing on those files.
pytestmark = pytest.mark.xdist_group("make-build-man")


def install(root_dir, build_dir, dest, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # -o: install the binary under test as it is, never relink it (a source file
    # newer than it would make `make install` rewrite $BUILD/aliasd while the
    # other xdist workers run it: "Permission denied" mid-link)
    r = subprocess.run(["make", "--no-print-directory", "-C", root_dir, "-o", f"{build_dir}/aliasd", "install",
                        f"BUILD={build_dir}", f"DESTDIR={dest}"] + list(args), capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope="module")
def local(root_dir, build_dir, tmp_path_factory, aliasd_bin):
    dest = tmp_path_factory.mktemp("dest")
    before = os.stat(aliasd_bin)
    install(root_dir, build_dir, dest)
    after = os.stat(aliasd_bin)
    # the binary the other tests run was neither relinked nor replaced
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    return str(dest)


def test_local_install_layout(local, root_dir, aliasd_bin):
    for p in ("usr/local/bin/aliasd", "etc/systemd/system/aliasd.service", "etc/aliasd/aliasd.yaml.example",
              "usr/local/share/man/man1/aliasd.1", "usr/local/share/man/man5/aliasd.yaml.5",
              "usr/local/share/man/man5/aliasd-manifest.5",
              "usr/local/share/bash-completion/completions/aliasd",
              "usr/local/share/doc/aliasd/iam-policy.json", "usr/local/share/doc/aliasd/aliasd.yaml.example",
              "usr/local/share/doc/aliasd/README.md", "usr/local/share/doc/aliasd/aliasd.txt",
              "usr/local/share/doc/aliasd/examples/my-lambda-function.yaml",
              "usr/local/share/doc/aliasd/examples/artifacts/Version2.zip"):
        assert os.path.isfile(os.path.join(local, p)), p
    assert not os.path.exists(os.path.join(local, "etc/aliasd/aliasd.yaml"))
    unit = open(os.path.join(local, "etc/systemd/system/aliasd.service")).read()
    assert "\nExecStart=/usr/local/bin/aliasd run -c /etc/aliasd/aliasd.yaml\n" in unit
    txt = open(os.path.join(local, "usr/local/share/doc/aliasd/aliasd.txt")).read()
    assert "usage: aliasd" in txt
    # the help of every command the binary lists
    assert re.findall(r"^== aliasd (\S+)$", txt, re.M) == \
        [c for c in pkgdocs.commands(aliasd_bin) if c != "help"]


def test_prefix_moves_the_unit_exec_start(root_dir, build_dir, tmp_path):
    install(root_dir, build_dir, tmp_path, "PREFIX=/opt/aliasd", "UNITDIR=/lib/systemd/system",
            "CONFIG_NAME=aliasd.yaml")
    unit = open(tmp_path / "lib/systemd/system/aliasd.service").read()
    assert "\nExecStart=/opt/aliasd/bin/aliasd run -c /etc/aliasd/aliasd.yaml\n" in unit
    assert (tmp_path / "etc/aliasd/aliasd.yaml").is_file()
    assert (tmp_path / "opt/aliasd/share/man/man5/aliasd.yaml.5").is_file()
