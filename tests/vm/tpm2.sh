#!/usr/bin/env bash
# tests/vm/tpm2.sh -- Encrypt=tpm2 proven in a real kernel with a (software) TPM:
# partitions sealed by repart in image mode on the host are unlocked in the QEMU
# guest by upstream's systemd-cryptsetup 257 through /dev/tpmrm0 and dm-crypt.
#
#   1. swtpm (Debian package) keeps its state in $WORK/tpm. On the host, our repart
#      builds an image (--offline=yes) with two partitions sealed to that TPM through
#      swtpm's socket TCTI: "sealed" (Encrypt=tpm2, ext4 with CopyFiles=, the default
#      PCR 7 policy) and "nopcr" (--tpm2-pcrs= empty: no PCR policy). If the oracle is
#      installed, upstream 257 adds a third one, "upstream" (default PCR 7), to the
#      same image against the same TPM.
#   2. swtpm is stopped and started again on the same state, now for QEMU
#      (-tpmdev emulator, -device tpm-tis). Debian's kernel boots directly (no
#      firmware: PCRs 0-7 are never extended, so PCR 7 is all zeroes as it was on the
#      host; upstream notes "PCR policy effectively unenforced" when sealing).
#   3. The guest runs upstream's systemd-cryptsetup (Debian 13's, in a small chroot
#      made from the oracle's trixie-ldso tree, with the tss2 libraries and
#      libcryptsetup and its systemd-tpm2 token plugin):
#        systemd-cryptsetup attach NAME DEV - tpm2-device=auto,headless=true
#      for every partition (through its systemd-tpm2 token), checks the copied
#      files (sha256), writes a marker, detaches; "sealed" is attached again and
#      the marker read back. Then PCR 7 is extended (systemd-pcrextend --pcr=7):
#      "sealed" must no longer unlock (the PCR policy is enforced), "nopcr" still must.
#   4. In the guest, upstream's systemd-repart and ours (both in the chroot) build an
#      image with Encrypt=key-file+tpm2 (--offline=yes, --tpm2-device=auto): both
#      must fail with upstream's EPERM, the same stdout and stderr (temp names
#      masked), and remove the image.
# Exit 0 and "tpm2-vm: PASS" on success. Needs root (packages, the guest's /dev/console).
# Environment: REPART_BIN, VMTEST_TIMEOUT (the boot, default 600: ~90 s on an idle machine, much more under load), VMTEST_KEEP=1,
# REPART_REQUIRE_ORACLE=1 (fail if upstream's partition cannot be made).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
TIMEOUT=${VMTEST_TIMEOUT:-600}
ORACLE=$REPO/tools/oracle/reference-repart
TRIXIE=${REPART_ORACLE_CACHE:-/var/cache/repart-oracle}/trixie-ldso/root
[ "$(id -u)" = 0 ] || die "needs root"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/repart-tpm2vm.XXXXXX")
SWTPM_PID=
stop_swtpm() {
  [ -n "$SWTPM_PID" ] || return 0
  kill "$SWTPM_PID" 2>/dev/null || true
  wait "$SWTPM_PID" 2>/dev/null || true
  SWTPM_PID=
}
cleanup() {
  local rc=$?
  stop_swtpm
  if [ $rc = 0 ] && [ "${VMTEST_KEEP:-0}" != 1 ]; then rm -rf "$WORK"
  else echo "work directory kept: $WORK" >&2; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- prerequisites
t=$(now)
ensure_packages
if ! command -v swtpm >/dev/null || ! command -v swtpm_setup >/dev/null; then
  log "installing swtpm swtpm-tools"
  DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends swtpm swtpm-tools >/dev/null \
    || { apt_get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends swtpm swtpm-tools >/dev/null; } \
    || die "cannot install swtpm"
fi
if [ ! -x "$TRIXIE/usr/lib/systemd/systemd-cryptsetup" ]; then
  REPART_ORACLE_MODE=ldso "$REPO/tools/oracle/setup-reference-repart.sh" >&2 || die "cannot unpack the oracle's trixie-ldso tree"
fi
[ -x "$TRIXIE/usr/lib/systemd/systemd-cryptsetup" ] || die "no systemd-cryptsetup in $TRIXIE"
if [ -z "${REPART_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
  REPART_BIN=$REPO/target/release/repart
fi
KDIR=$(fetch_kernel)
have_oracle=0
if [ -x "$ORACLE" ] && "$ORACLE" --version >/dev/null 2>&1; then have_oracle=1
elif [ "${REPART_REQUIRE_ORACLE:-0}" = 1 ]; then die "oracle required but $ORACLE does not run"
else log "oracle not installed: no partition sealed by upstream"; fi
log "prerequisites ready in $(since "$t")s"

# swtpm on $WORK/tpm: "host" mode serves the socket TCTI (and starts the TPM itself),
# "qemu" mode only the control channel QEMU drives (the guest kernel sends Startup).
mkdir -p "$WORK/tpm"
start_swtpm() {
  local sock=$WORK/tpm.sock ctrl=$WORK/tpm.sock.ctrl i
  rm -f "$sock" "$ctrl"
  if [ "$1" = host ]; then
    swtpm socket --tpm2 --flags startup-clear --tpmstate dir="$WORK/tpm" \
      --server type=unixio,path="$sock" --ctrl type=unixio,path="$ctrl" >"$WORK/swtpm-$1.log" 2>&1 &
  else
    swtpm socket --tpm2 --tpmstate dir="$WORK/tpm" --ctrl type=unixio,path="$ctrl" \
      --log file="$WORK/swtpm-$1.log" >/dev/null 2>&1 &
  fi
  SWTPM_PID=$!
  for i in $(seq 100); do [ -S "$ctrl" ] && return 0; sleep 0.05; done
  die "swtpm ($1) did not create $ctrl"
}

# ------------------------------------------------------- 1. sealing on the host
CONTENT=$WORK/content
mkdir -p "$CONTENT/dir"
head -c 1048576 /dev/urandom > "$CONTENT/dir/random.bin"
seq 1 20000 > "$CONTENT/numbers.txt"
echo "sealed on the host" > "$CONTENT/hello"
(cd "$CONTENT" && find . -type f | LC_ALL=C sort | xargs sha256sum) > "$WORK/content.sha256"

DEFS=$WORK/defs
mkdir -p "$DEFS"
printf '[Partition]\nType=linux-generic\nLabel=sealed\nFormat=ext4\nEncrypt=tpm2\nCopyFiles=%s:/\nSizeMinBytes=64M\nSizeMaxBytes=64M\n' \
  "$CONTENT" > "$DEFS/10-sealed.conf"
printf '[Partition]\nType=linux-generic\nLabel=nopcr\nFormat=ext4\nEncrypt=tpm2\nSizeMinBytes=48M\nSizeMaxBytes=48M\n' > "$DEFS/20-nopcr.conf"
printf '[Partition]\nType=linux-generic\nLabel=upstream\nFormat=ext4\nEncrypt=tpm2\nSizeMinBytes=48M\nSizeMaxBytes=48M\n' > "$DEFS/30-upstream.conf"
IMG=$WORK/disk.raw
truncate -s 256M "$IMG"
sealrun() {  # sealrun BIN NAME DEFS... -- EXTRA-ARGS...
  local bin=$1 name=$2 d=$WORK/defs-$2; shift 2
  mkdir -p "$d"
  while [ "$1" != -- ]; do cp "$DEFS/$1" "$d/"; shift; done; shift
  (cd "$WORK" && env -u SYSTEMD_TPM2_DEVICE "$bin" --definitions="$d" --empty=allow --dry-run=no --offline=yes \
      --seed="$SEED" --tpm2-device=swtpm:path="$WORK/tpm.sock" "$@" disk.raw) \
    > "$WORK/seal-$name.stdout" 2> "$WORK/seal-$name.stderr" \
    || { cat "$WORK/seal-$name.stderr" >&2; die "sealing '$name' with $bin failed"; }
}
t=$(now)
start_swtpm host
sealrun "$REPART_BIN" sealed 10-sealed.conf --
sealrun "$REPART_BIN" nopcr 10-sealed.conf 20-nopcr.conf -- --tpm2-pcrs=
NAMES="sealed nopcr"
if [ $have_oracle = 1 ]; then
  REPART_ORACLE_MODE=ldso sealrun "$ORACLE" upstream 10-sealed.conf 20-nopcr.conf 30-upstream.conf --
  NAMES="$NAMES upstream"
fi
stop_swtpm
log "sealed $NAMES in $(since "$t")s"
grep -h 'PCR policy effectively unenforced' "$WORK"/seal-*.stderr | sort | uniq -c | sed 's/^/  host: /' >&2 || true

# ------------------------------------------------------------------ initramfs
# lib.sh's initramfs (busybox, virtio, ext4, blkid), unpacked and extended with
# dm-crypt and its ciphers, the expected checksums, the chroot with upstream's
# systemd-cryptsetup, and tests/vm/tpm2-guest.sh as /init.
add_trixie_chroot() {  # add_trixie_chroot STAGE
  local dst=$1/trixie ldso=$TRIXIE/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
  local libpath=$TRIXIE/usr/lib/x86_64-linux-gnu:$TRIXIE/usr/lib/x86_64-linux-gnu/systemd f lib
  local files=(usr/lib/systemd/systemd-cryptsetup usr/lib/systemd/systemd-pcrextend usr/sbin/cryptsetup
    usr/lib/x86_64-linux-gnu/cryptsetup/libcryptsetup-token-systemd-tpm2.so
    usr/bin/systemd-repart usr/sbin/mke2fs etc/mke2fs.conf)
  # dlopen()ed by libsystemd-shared / libtss2-tctildr, not in ldd's list
  for lib in libtss2-esys.so.0 libtss2-mu.so.0 libtss2-rc.so.0 libtss2-tctildr.so.0 libtss2-tcti-device.so.0 \
             libtss2-sys.so.1 libcryptsetup.so.12 libkmod.so.2 libgcc_s.so.1; do
    [ -e "$TRIXIE/usr/lib/x86_64-linux-gnu/$lib" ] && files+=("usr/lib/x86_64-linux-gnu/$lib")
  done
  declare -A want=()
  for f in "${files[@]}"; do
    want[$f]=1
    case $f in etc/*) continue ;; esac
    while read -r lib; do want[${lib#"$TRIXIE"/}]=1; done < <("$ldso" --library-path "$libpath" --list "$TRIXIE/$f" \
        | grep -oE "$TRIXIE/[^ ]+" )
  done
  # ours: the libraries it links, from the same tree
  while read -r lib; do want[${lib#"$TRIXIE"/}]=1; done < <("$ldso" --library-path "$libpath" --list "$REPART_BIN" \
      | grep -oE "$TRIXIE/[^ ]+" )
  for f in "${!want[@]}"; do
    mkdir -p "$dst/$(dirname "$f")"
    cp -L "$TRIXIE/$f" "$dst/$f"
  done
  mkdir -p "$dst"/{dev,proc,sys,run,tmp,var/tmp,etc,usr/lib64}
  ln -sf mke2fs "$dst/usr/sbin/mkfs.ext4"
  cp "$REPART_BIN" "$dst/usr/bin/repart"   # ours, with Debian 13's libraries
  ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$dst/usr/lib64/ld-linux-x86-64.so.2"
  for f in lib lib64 bin sbin; do ln -sfn "usr/$f" "$dst/$f"; done
  mkdir -p "$dst/usr/bin" "$dst/usr/sbin"
  echo "root:x:0:0:root:/:/bin/sh" > "$dst/etc/passwd"
  echo "root:x:0:" > "$dst/etc/group"
}

t=$(now)
INITRD=$WORK/initramfs.cpio
build_initramfs "$KDIR" "$WORK/base.cpio" "$REPART_BIN" "$DEFS" "${SEED//-/}"
ST=$WORK/initramfs
mkdir -p "$ST"
(cd "$ST" && cpio -idm --quiet < "$WORK/base.cpio")
rm -f "$WORK/base.cpio"
KVER=$(basename "$(ls -d "$KDIR"/lib/modules/*/ | head -1)")
MODSRC=$KDIR/lib/modules/$KVER
add_module() {  # a module (by name) and its modules.dep closure, decompressed
  local pat rel r d
  pat=$(echo "$1" | sed 's/[-_]/[-_]/g')
  rel=$(grep -m1 -E "(^|/)$pat\.ko(\.[a-z]+)?:" "$MODSRC/modules.dep" | cut -d: -f1) || true
  [ -n "$rel" ] || { grep -qE "/$pat\.ko" "$MODSRC/modules.builtin" || die "no module $1"; return 0; }
  for r in $rel $(grep -m1 "^$rel:" "$MODSRC/modules.dep" | cut -d: -f2-); do
    d=$ST/lib/modules/$KVER/${r%.*}.ko
    [ "${r%.ko}" = "$r" ] || d=$ST/lib/modules/$KVER/$r
    [ -e "$d" ] && continue
    mkdir -p "$(dirname "$d")"
    case $r in
      *.ko.xz)  xz -dc "$MODSRC/$r" > "$d" ;;
      *.ko.zst) zstd -dcq "$MODSRC/$r" > "$d" ;;
      *)        cp "$MODSRC/$r" "$d" ;;
    esac
  done
}
for m in dm_mod dm_crypt xts aes_generic aesni_intel sha256_generic; do add_module "$m"; done
busybox depmod -b "$ST" "$KVER"
add_trixie_chroot "$ST"
cp "$WORK/content.sha256" "$ST/etc/tpm2-content.sha256"
echo "$NAMES" > "$ST/etc/tpm2-names"
install -m755 "$HERE/tpm2-guest.sh" "$ST/init"
(cd "$ST" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
    | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) > "$INITRD"
rm -rf "$ST"
log "initramfs: $(du -h "$INITRD" | cut -f1) in $(since "$t")s"

# ------------------------------------------------------------- 2. boot with the TPM
start_swtpm qemu
truncate -s 16M "$WORK/results.tar"
t=$(now)
VMTEST_QEMU_ARGS="-chardev socket,id=chrtpm,path=$WORK/tpm.sock.ctrl -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0" \
  run_vm "$KDIR/vmlinux" "$INITRD" "$IMG" "$WORK/results.tar" "$WORK/boot.log" 512 "" "$TIMEOUT" \
  || { grep '^VMTEST' "$WORK/boot.log" >&2 || tail -40 "$WORK/boot.log" >&2; die "boot failed (log: $WORK/boot.log)"; }
BOOT_WALL=$(since "$t")
stop_swtpm
R=$WORK/results
mkdir -p "$R"; tar -xf "$WORK/results.tar" -C "$R" 2>/dev/null || true
grep '^VMTEST' "$WORK/boot.log" | sed 's/^/  [guest] /' >&2

# --------------------------------------------------------------- 3. host checks
for n in $NAMES; do
  [ "$(cat "$R/attach1.$n.rc" 2>/dev/null)" = 0 ] || { cat "$R/attach1.$n.log" >&2 || true; die "$n: upstream's systemd-cryptsetup did not unlock it"; }
  grep -q '^Volume .* activated with a LUKS token\.$' "$R/attach1.$n.log" || die "$n: not unlocked through its token"
done
[ "$(cat "$R/reattach.sealed" 2>/dev/null)" = "sealed written in the guest" ] || die "sealed: the marker written in the guest was not read back"
[ "$(cat "$R/content.check")" = OK ] || die "sealed: the copied files differ: $(cat "$R/content.check")"
for n in sealed nopcr; do
  rc=$(cat "$R/attach-pcr.$n.rc" 2>/dev/null || echo missing)
  case $n in
    nopcr) [ "$rc" = 0 ] || { cat "$R/attach-pcr.$n.log" >&2; die "nopcr did not unlock after PCR 7 changed"; } ;;
    *)     [ "$rc" != 0 ] && [ "$rc" != missing ] || die "$n unlocked although PCR 7 changed (rc $rc)"
           grep -q 'Current policy digest does not match stored policy digest' "$R/attach-pcr.$n.log" \
             || { tail -20 "$R/attach-pcr.$n.log" >&2; die "$n: failed to unlock for another reason than the PCR policy"; } ;;
  esac
done
[ "$(cat "$R/pcr7.before")" != "$(cat "$R/pcr7.after")" ] || die "PCR 7 did not change"
# Encrypt=key-file+tpm2 in image mode in the guest (real kernel keyring, no seccomp,
# the kernel's TPM): upstream fails it (EPERM, see testdata/golden/KNOWN-DIFFERENCES
# history and /work/coord notes), and so must we, with the same messages.
for who in upstream ours; do
  [ "$(cat "$R/kf.$who.rc")" = 1 ] || { cat "$R/kf.$who.stderr" >&2; die "key-file+tpm2 in the guest ($who): exit status $(cat "$R/kf.$who.rc"), expected 1"; }
  [ "$(cat "$R/kf.$who.image")" = removed ] || die "key-file+tpm2 in the guest ($who): the image it created is left"
  grep -E '^(Encrypting|Failed|Successfully encrypted)' "$R/kf.$who.stderr" > "$R/kf.$who.msgs" || true
  sed -E 's|/var/tmp/repart-[A-Za-z0-9]+|{tmp}|' "$R/kf.$who.stderr" > "$R/kf.$who.stderr.masked"
done
diff -u "$R/kf.upstream.stderr.masked" "$R/kf.ours.stderr.masked" >&2 || die "key-file+tpm2 in the guest: our stderr differs from upstream's"
cmp -s "$R/kf.upstream.stdout" "$R/kf.ours.stdout" || die "key-file+tpm2 in the guest: our stdout differs from upstream's"
grep -qx 'Failed to prepare for reencryption: Operation not permitted' "$R/kf.ours.msgs" || die "key-file+tpm2 in the guest: not the EPERM of upstream"
echo "tpm2-vm: unlocked by upstream's systemd-cryptsetup in the guest: $NAMES; files read back; PCR 7 policy enforced after extend"
echo "tpm2-vm: Encrypt=key-file+tpm2 in image mode in the guest: upstream and ours both exit 1 with the same stdout and stderr ($(tail -1 "$R/kf.ours.msgs")), image removed"
echo "tpm2-vm: guest attach $(cat "$R/attach.seconds")s for the first unlock, boot ${BOOT_WALL}s wall, total $(since "$T0")s"
echo "tpm2-vm: PASS"
