#!/usr/bin/env bash
# tools/test.sh -- run all of repart's tests (the one command to run them).
#
# 1. Installs the prerequisites if missing (idempotent; needs root for that):
#    sfdisk (Debian package fdisk) and the reference systemd-repart 257 oracle
#    (tools/oracle/setup-reference-repart.sh, REPART_ORACLE_MODE=both: the chroot
#    oracle and the ldso tree with the same mkfs tools for our binary).
# 2. cargo test --release: unit tests, the golden cases (testdata/golden, incl.
#    the file-system cases fs-*), tests/fs.rs (reproducibility, no loop devices)
#    and the differential test against the oracle (tests/differential.rs).
#    Needs perl (stderr normalisation of fs cases) and bash.
#
# In CI (CI=1 or REPART_REQUIRE_ORACLE=1) a missing oracle is an error;
# otherwise the differential test is skipped with a message.
# Extra arguments are passed to cargo test, e.g. tools/test.sh -- --nocapture
# Environment: see tests/tests.rs (GOLDEN_CASE, REPART_UNDER_TEST, DIFF_CASES, ...).
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.."

log() { printf 'test.sh: %s\n' "$*" >&2; }

if [ -n "${CI:-}" ]; then export REPART_REQUIRE_ORACLE=${REPART_REQUIRE_ORACLE:-1}; fi

# The openssl crate builds against libssl (headers via pkg-config).
if ! pkg-config --exists openssl 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        log "installing libssl-dev and pkg-config (the openssl crate links libssl)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade libssl-dev pkg-config >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade libssl-dev pkg-config >&2; }
    else
        log "libssl-dev/pkg-config are missing and we are not root: install them"; exit 1
    fi
fi

# Encrypt=: libcryptsetup (dlopened by repart), cryptsetup and python3-cryptography (the
# luks-* goldens' contents dump decrypts in userspace), readelf (tests/crypt.rs).
crypt_pkgs=()
/sbin/ldconfig -p 2>/dev/null | grep -q 'libcryptsetup\.so\.12 ' || crypt_pkgs+=(libcryptsetup12)
[ -x /usr/sbin/cryptsetup ] || [ -x /sbin/cryptsetup ] || crypt_pkgs+=(cryptsetup-bin)
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || crypt_pkgs+=(python3-cryptography)
command -v readelf >/dev/null 2>&1 || crypt_pkgs+=(binutils)
# Encrypt=tpm2 and --tpm2-device=list: the tpm2-tss libraries (dlopened by repart, as
# upstream) and swtpm (tests/tpm2.rs; the cli-tpm2-device-list golden needs the libraries).
/sbin/ldconfig -p 2>/dev/null | grep -q 'libtss2-esys\.so\.0 ' || crypt_pkgs+=(libtss2-esys-3.0.2-0 libtss2-mu0 libtss2-rc0 libtss2-tcti-swtpm0 libtss2-tcti-device0)
command -v swtpm >/dev/null 2>&1 || crypt_pkgs+=(swtpm)
if [ ${#crypt_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        log "installing ${crypt_pkgs[*]} (Encrypt= tests)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade "${crypt_pkgs[@]}" >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade "${crypt_pkgs[@]}" >&2; }
    else
        log "missing for the Encrypt= tests: ${crypt_pkgs[*]} (install them as root)"; exit 1
    fi
fi

have_sfdisk() { [ -x /usr/sbin/sfdisk ] || [ -x /sbin/sfdisk ] || command -v sfdisk >/dev/null 2>&1; }
if ! have_sfdisk; then
    if [ "$(id -u)" = 0 ]; then
        log "installing fdisk (sfdisk)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade fdisk >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-upgrade fdisk >&2; }
    else
        log "sfdisk is missing and we are not root: install the 'fdisk' package"; exit 1
    fi
fi

if [ "$(id -u)" = 0 ]; then
    # both modes: the chroot oracle, and the ldso tree whose mkfs tools
    # (/var/cache/repart-oracle/trixie-ldso/bin) the file-system tests put first on PATH
    REPART_ORACLE_MODE=${REPART_ORACLE_MODE:-both} tools/oracle/setup-reference-repart.sh
elif [ "${REPART_REQUIRE_ORACLE:-0}" = 1 ]; then
    log "the oracle is required but cannot be installed without root"; exit 1
else
    log "not root: not installing the oracle (the differential test will be skipped if it is missing)"
fi

command -v cargo >/dev/null || { log "cargo not found (a Rust toolchain supporting edition 2024 is needed)"; exit 1; }
# Mechanical gates first: formatting, lints, documentation.
log "cargo fmt --check, clippy -D warnings, cargo doc -D warnings"
cargo fmt --all -- --check
cargo clippy --all-targets --features fault-injection -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
# The fuzz targets call the planner directly: they must keep building on stable too
# (the fuzzing itself needs nightly and runs in .ci/run).
cargo check --manifest-path fuzz/Cargo.toml --bins --quiet
# The renderer's expected outputs still equal the upstream outputs they were taken from
# (where those sources are on this machine).
if [ -d "${REPART_CAPTURES:-/work/shared/oracle/captures/257}" ]; then
    tools/output-expectations.pl
fi

REPART_TEST_JOBS=${REPART_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)} exec cargo test --release --features fault-injection "$@"
