#!/bin/sh
# Install exactly the Debian packages aliasd needs to build and test that are
# missing. Idempotent: prints nothing and changes nothing when all are there.
# Used by `make check`, `make demo` and `make bench`; `make deb` runs it with
# --build: only what building the binary, the man pages and the .deb needs.
set -eu

BUILD_PKGS="gcc make pkg-config libyaml-dev libgit2-dev libcurl4-openssl-dev libssl-dev
libcjson-dev libmicrohttpd-dev libexpat1-dev libgpgme-dev"
TEST_PKGS="git openssl python3 python3-pytest python3-pytest-xdist python3-boto3 python3-botocore python3-yaml awscli
prometheus clang libclang-rt-14-dev clang-format systemd time openssh-server openssh-client gnupg"
# man pages (make man, make install), the Debian package (make deb) and its checks
PKG_PKGS="scdoc man-db build-essential dpkg-dev debhelper lintian bash-completion"

case "${1:-}" in
--build) TEST_PKGS="" ;;
"") ;;
*)
	echo "usage: $0 [--build]" >&2
	exit 64
	;;
esac

missing=""
for p in $BUILD_PKGS $TEST_PKGS $PKG_PKGS; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages:$missing" >&2
	echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done" >&2
