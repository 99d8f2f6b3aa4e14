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
#   4. First boot, as the unit runs it (no --offline: loop device + dm-crypt) with
#      Encrypt=tpm2 and --tpm2-device=auto: ours on one empty disk, upstream's on a
#      copy; same exit status, stdout, stderr (names masked), table and LUKS2 header
#      (keyslots and PBKDF, token fields incl. policy hash; salts, digests and the
#      sealed blob left out); ours unlocked by systemd-cryptsetup, files written and
#      read back. Boot 2: both print "No changes.", the files are still there.
#   5. With VMTEST_TPM2_KEYFILE=1 (not by default: ~75 s more under TCG): in the
#      guest, upstream's systemd-repart and ours (both in the chroot) build an
#      image with Encrypt=key-file+tpm2 (--offline=yes, --tpm2-device=auto): both
#      must fail with upstream's EPERM, the same stdout and stderr (temp names
#      masked), and remove the image.
# Exit 0 and "tpm2-vm: PASS" on success. Needs root (packages, the guest's /dev/console).
# Environment: REPART_BIN, VMTEST_TPM2_KEYFILE=1 (step 5), VMTEST_TIMEOUT (the boot, default 600: ~90 s on an idle machine, much more under load), VMTEST_KEEP=1,
# REPART_REQUIRE_ORACLE=1 (fail if upstream's partition cannot be made).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/lib.sh"

T0=$(now)
TIMEOUT=${VMTEST_TIMEOUT:-600}
KEYFILE=${VMTEST_TPM2_KEYFILE:-0}
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
for m in dm_mod dm_crypt xts aes_generic aesni_intel sha256_generic loop; do add_module "$m"; done
busybox depmod -b "$ST" "$KVER"
add_trixie_chroot "$ST"
cp "$WORK/content.sha256" "$ST/etc/tpm2-content.sha256"
echo "$NAMES" > "$ST/etc/tpm2-names"
mkdir -p "$ST/trixie/etc/fb.d"
printf '[Partition]\nType=home\nLabel=data\nFormat=ext4\nEncrypt=tpm2\n' > "$ST/trixie/etc/fb.d/50-data.conf"
install -m755 "$HERE/tpm2-guest.sh" "$ST/init"
(cd "$ST" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
    | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) > "$INITRD"
rm -rf "$ST"
log "initramfs: $(du -h "$INITRD" | cut -f1) in $(since "$t")s"

# ------------------------------------------------------------- 2. boot with the TPM
# First-boot disks: an empty GPT, one copy for ours (vdc), one for upstream (vdd).
mkdir -p "$WORK/fb/ours" "$WORK/fb/upstream"
truncate -s 300M "$WORK/fb/ours/disk.raw"
printf 'label: gpt\nlabel-id: 7D1BC0C5-0C2E-4F3A-9E5B-1F0A2D3C4B5A\n' | sfdisk -q "$WORK/fb/ours/disk.raw" >/dev/null
cp --sparse=always "$WORK/fb/ours/disk.raw" "$WORK/fb/upstream/disk.raw"
boot() {  # boot PHASE
  start_swtpm qemu
  truncate -s 16M "$WORK/results$1.tar"
  local t; t=$(now)
  local qemu="-chardev socket,id=chrtpm,path=$WORK/tpm.sock.ctrl -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0"
  qemu+=" -drive file=$WORK/fb/ours/disk.raw,format=raw,if=none,id=fb0,cache=writeback -device virtio-blk-pci,drive=fb0"
  qemu+=" -drive file=$WORK/fb/upstream/disk.raw,format=raw,if=none,id=fb1,cache=writeback -device virtio-blk-pci,drive=fb1"
  VMTEST_QEMU_ARGS=$qemu run_vm "$KDIR/vmlinux" "$INITRD" "$IMG" "$WORK/results$1.tar" "$WORK/boot$1.log" 512 "vmtest.phase=$1 vmtest.keyfile=$KEYFILE" "$TIMEOUT" \
    || { grep '^VMTEST' "$WORK/boot$1.log" >&2 || tail -40 "$WORK/boot$1.log" >&2; die "boot $1 failed (log: $WORK/boot$1.log)"; }
  BOOT_WALL[$1]=$(since "$t")
  stop_swtpm
  mkdir -p "$WORK/r$1"; tar -xf "$WORK/results$1.tar" -C "$WORK/r$1" 2>/dev/null || true
  grep '^VMTEST' "$WORK/boot$1.log" | sed "s/^/  [boot $1] /" >&2
}
declare -A BOOT_WALL=()
boot 1
R=$WORK/r1

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
  [ "$KEYFILE" = 1 ] || break
  [ "$(cat "$R/kf.$who.rc")" = 1 ] || { cat "$R/kf.$who.stderr" >&2; die "key-file+tpm2 in the guest ($who): exit status $(cat "$R/kf.$who.rc"), expected 1"; }
  [ "$(cat "$R/kf.$who.image")" = removed ] || die "key-file+tpm2 in the guest ($who): the image it created is left"
  grep -E '^(Encrypting|Failed|Successfully encrypted)' "$R/kf.$who.stderr" > "$R/kf.$who.msgs" || true
  sed -E 's|/var/tmp/repart-[A-Za-z0-9]+|{tmp}|' "$R/kf.$who.stderr" > "$R/kf.$who.stderr.masked"
done
if [ "$KEYFILE" = 1 ]; then
  diff -u "$R/kf.upstream.stderr.masked" "$R/kf.ours.stderr.masked" >&2 || die "key-file+tpm2 in the guest: our stderr differs from upstream's"
  cmp -s "$R/kf.upstream.stdout" "$R/kf.ours.stdout" || die "key-file+tpm2 in the guest: our stdout differs from upstream's"
  grep -qx 'Failed to prepare for reencryption: Operation not permitted' "$R/kf.ours.msgs" || die "key-file+tpm2 in the guest: not the EPERM of upstream"
fi
# First boot (live mode) with Encrypt=tpm2: ours and upstream's on copies of one disk.
FB=$WORK/fb
for who in ours upstream; do
  [ "$(cat "$R/fb1.$who.rc")" = 0 ] || { cat "$R/fb1.$who.stderr" >&2; die "first boot ($who): exit status $(cat "$R/fb1.$who.rc")"; }
  sed -E 's|/dev/vd[cd]|{disk}|g; s|/dev/loop[0-9]+|{loop}|g; s|luks-repart-[0-9a-f]+|{dm}|g; s|/var/tmp/[A-Za-z0-9.#-]+|{tmp}|g' \
    "$R/fb1.$who.stderr" > "$R/fb1.$who.stderr.masked"
  sfd "$FB/$who/disk.raw" 512 > "$FB/$who.table1"
done
cmp -s "$R/fb1.ours.stdout" "$R/fb1.upstream.stdout" || { diff -u "$R/fb1.upstream.stdout" "$R/fb1.ours.stdout" >&2; die "first boot: stdout differs from upstream's"; }
diff -u "$R/fb1.upstream.stderr.masked" "$R/fb1.ours.stderr.masked" >&2 || die "first boot: stderr differs from upstream's"
diff -u "$FB/upstream.table1" "$FB/ours.table1" >&2 || die "first boot: partition table differs from upstream's"
# The LUKS2 headers: everything but salts, digests, the sealed blob (random) and
# the benchmarked digest iterations; the SRK is the same TPM's.
luks_shape() {  # luks_shape DISK TABLE
  local start; start=$(part_field "$2" data start)
  dd if="$1" of="$1.hdr" bs=512 skip="$start" count=32768 status=none
  cryptsetup luksDump --dump-json-metadata "$1.hdr" \
    | jq -S 'del(.keyslots[].kdf.salt, .digests[].salt, .digests[].digest, .digests[].iterations, .tokens[]."tpm2-blob")'
  rm -f "$1.hdr"
}
for who in ours upstream; do luks_shape "$FB/$who/disk.raw" "$FB/$who.table1" > "$FB/$who.luks.json"; done
diff -u "$FB/upstream.luks.json" "$FB/ours.luks.json" >&2 || die "first boot: LUKS2 header (keyslots, PBKDF, tokens, policy hash) differs from upstream's"
[ "$(jq -r '.tokens["0"].type' "$FB/ours.luks.json")" = systemd-tpm2 ] || die "first boot: no systemd-tpm2 token"
grep -q '^Volume .* activated with a LUKS token\.$' "$R/fb1.fb.log" || die "first boot: not unlocked through the token"
[ "$(cat "$R/fb1.marker")" = "written on first boot" ] || die "first boot: marker not read back"
cmp -s "$R/fb1.blob.sha256" "$R/fb1.blob.sha256.again" || die "first boot: the blob read back differs"

boot 2
R2=$WORK/r2
for who in ours upstream; do
  [ "$(cat "$R2/fb2.$who.rc")" = 0 ] || { cat "$R2/fb2.$who.stderr" >&2; die "boot 2 ($who): exit status $(cat "$R2/fb2.$who.rc")"; }
  [ "$(cat "$R2/fb2.$who.stderr")" = "No changes." ] || { cat "$R2/fb2.$who.stderr" >&2; die "boot 2 ($who): not 'No changes.'"; }
  sfd "$FB/$who/disk.raw" 512 > "$FB/$who.table2"
  cmp -s "$FB/$who.table1" "$FB/$who.table2" || die "boot 2 ($who) changed the table"
done
cmp -s "$R2/fb2.ours.stdout" "$R2/fb2.upstream.stdout" || die "boot 2: stdout differs from upstream's"
[ "$(cat "$R2/fb2.marker")" = "written on first boot" ] || die "boot 2: the first boot's marker was not read back"

echo "tpm2-vm: first boot with Encrypt=tpm2 in the guest (loop + dm-crypt, --tpm2-device=auto): ours $(cat "$R/fb1.ours.seconds")s, upstream $(cat "$R/fb1.upstream.seconds")s; same stdout, stderr, table and LUKS2 header shape (keyslot PBKDF, token fields, policy hash) as upstream; unlocked by systemd-cryptsetup; boot 2: No changes. (ours $(cat "$R2/fb2.ours.seconds")s)"
echo "tpm2-vm: unlocked by upstream's systemd-cryptsetup in the guest: $NAMES; files read back; PCR 7 policy enforced after extend"
[ "$KEYFILE" = 1 ] && echo "tpm2-vm: Encrypt=key-file+tpm2 in image mode in the guest: upstream and ours both exit 1 with the same stdout and stderr ($(tail -1 "$R/kf.ours.msgs")), image removed"
echo "tpm2-vm: guest attach $(cat "$R/attach.seconds")s for the first unlock, boot 1 ${BOOT_WALL[1]}s wall, boot 2 ${BOOT_WALL[2]}s wall, total $(since "$T0")s"
echo "tpm2-vm: PASS"
