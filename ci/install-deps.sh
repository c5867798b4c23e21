#!/bin/sh
# Install the Debian packages merilo needs to build, test and draw plots.
# Idempotent: installs only what is missing; uses sudo when not root.
set -eu
PKGS="build-essential pkg-config libjansson-dev libutf8proc-dev libpcre2-dev libsqlite3-dev libpapi-dev gnuplot-nox perl"
# --ci: also the tools some tests use as outside oracles (they SKIP without them):
# headless Chromium renders report.html, xmllint checks JUnit XML, valgrind
# counts instructions for the deterministic perf gate; and clang with its
# sanitizer runtimes, for make test-asan's second build; Open MPI, optional at
# build time like CUDA, for merilo run --mpi and tests/hrn_mpi.c.
[ "${1:-}" = "--ci" ] && PKGS="$PKGS chromium libxml2-utils valgrind clang libclang-rt-dev libopenmpi-dev openmpi-bin"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all present"; exit 0; }
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y --no-install-recommends $missing
