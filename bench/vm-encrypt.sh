#!/usr/bin/env bash
# bench/vm-encrypt.sh -- first boot with Encrypt=key-file on a 20 GiB new
# partition, in the QEMU VM (tests/vm: Debian's kernel, TCG), repart vs.
# upstream systemd-repart 257 run in the same guest on a copy of the same disk.
#
# The disk is a sparse raw file (21 GiB apparent, a few MiB real): a GPT with
# one small foreign partition and the rest free. The definitions add one
# partition, ext4, Encrypt=key-file, exactly 20G. Each boot runs one tool
# (live mode: loop device over the partition, LUKS2 formatted on it, mkfs
# through dm-crypt), times it inside the guest, and opens the result with the
# key file (Debian 13's cryptsetup). Boots alternate ours/upstream (ABBA), each
# on a fresh copy of the disk. Afterwards the host counts what landed in the
# new partition's range of the raw file: allocated bytes (SEEK_DATA/SEEK_HOLE)
# and non-zero 4 KiB blocks (the bytes actually written).
#
# Not a test and not in CI: timings are reported, never asserted.
#
# Usage: bench/vm-encrypt.sh            (root; needs the oracle's ldso tree:
#                                        tools/oracle/setup-reference-repart.sh)
# Environment:
#   RUNS=3                boots per tool
#   REPART_BIN=path       our binary (default: cargo build --release)
#   VMBENCH_MEM=2048      guest RAM in MiB (argon2id takes up to 1 GiB)
#   VMBENCH_TIMEOUT=1200  per boot, seconds
#   VMBENCH_TOOLS="ours upstream"   (one of them alone: a harness check, no report)
#   OURS_LIBS=host|suite  our binary with the host's libcryptsetup (copied into the
#                         initramfs; default) or through the suite's ld.so with upstream's
#   WORK=/var/tmp/repart-vmbench   work dir (disks, logs, results.md)
#   WRITE_DOC=1           append nothing; the report is $WORK/results.md and,
#                         with WRITE_DOC=1, docs/benchmarks-vm-encrypt.md
set -euo pipefail
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/lib.sh
source "$HERE/../tests/vm/lib.sh"

RUNS=${RUNS:-3}
MEM=${VMBENCH_MEM:-2048}
TIMEOUT=${VMBENCH_TIMEOUT:-1200}
WORK=${WORK:-/var/tmp/repart-vmbench}
LDSO=/var/cache/repart-oracle/trixie-ldso
DOC=$REPO/docs/benchmarks-vm-encrypt.md
[ "${OURS_LIBS:-host}" = host ] || DOC=$REPO/docs/benchmarks-vm-encrypt-${OURS_LIBS}-libs.md

[ "$(id -u)" = 0 ] || die "must run as root"
[ -f "$LDSO/.repart-oracle-complete" ] || die "no oracle tool tree in $LDSO (REPART_ORACLE_MODE=ldso tools/oracle/setup-reference-repart.sh)"
ensure_packages
if [ -z "${REPART_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release -q) || die "cargo build --release"
  REPART_BIN=$REPO/target/release/repart
fi
mkdir -p "$WORK/logs"
cp "$REPART_BIN" "$WORK/repart"
GIT=$(cd "$REPO" && git rev-parse --short HEAD)
KDIR=$(fetch_kernel)
KVER=$(basename "$(ls -d "$KDIR"/lib/modules/*/ | head -1)")
log "kernel $KVER, repart $REPART_BIN ($GIT)"

# ---- the oracle's tool tree as an ext4 disk (cached; rebuilt when the tree changes)
TOOLS=$WORK/tools.ext4
stamp=$(stat -c %Y "$LDSO/.repart-oracle-complete")
if [ "$(cat "$TOOLS.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building the tool disk from $LDSO"
  rm -f "$TOOLS"
  truncate -s $(( $(du -sm "$LDSO" | cut -f1) * 2 + 64 ))M "$TOOLS"
  mke2fs -q -t ext4 -d "$LDSO" "$TOOLS" || die "mke2fs -d $LDSO"
  echo "$stamp" > "$TOOLS.stamp"
fi

# ---- initramfs: busybox, modules, our repart (+ libcryptsetup, dlopened), key, definitions
INITRD=$WORK/initramfs.cpio
st=$(mktemp -d "$WORK/initramfs.XXXXXX")
mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,etc/repart.d,proc,sys,dev,run,tmp,var/tmp,lib/modules/$KVER}
install -m755 "$(command -v busybox)" "$st/bin/busybox"
for m in $("$st/bin/busybox" --list-full); do [ -e "$st/$m" ] || ln -s /bin/busybox "$st/$m"; done
modsrc=$KDIR/lib/modules/$KVER
declare -A seen=()
add_mod() {
  local r=$1 d
  [ -n "${seen[$r]:-}" ] && return; seen[$r]=1
  mkdir -p "$st/lib/modules/$KVER/$(dirname "$r")"
  case $r in
    *.ko.xz) xz -dc "$modsrc/$r" > "$st/lib/modules/$KVER/${r%.xz}" ;;
    *.ko.zst) zstd -dcq "$modsrc/$r" > "$st/lib/modules/$KVER/${r%.zst}" ;;
    *) cp "$modsrc/$r" "$st/lib/modules/$KVER/$r" ;;
  esac
  for d in $(grep -m1 "^$r:" "$modsrc/modules.dep" | cut -d: -f2-); do add_mod "$d"; done
}
MODS="virtio_pci virtio_blk crc32c_generic crc32c-intel ext4 loop dm-mod dm-crypt xts aesni-intel aes_generic af_alg algif_skcipher algif_hash"
loaded=()
for m in $MODS; do
  pat=$(echo "$m" | sed 's/[-_]/[-_]/g')
  rel=$(grep -m1 -E "(^|/)$pat\.ko(\.[a-z]+)?:" "$modsrc/modules.dep" | cut -d: -f1 || true)
  if [ -n "$rel" ]; then add_mod "$rel"; loaded+=("$m"); fi
done
printf '%s\n' "${loaded[@]}" > "$st/etc/modules-to-load"
cp "$modsrc"/modules.builtin "$modsrc"/modules.order "$st/lib/modules/$KVER/" 2>/dev/null || true
busybox depmod -b "$st" "$KVER"
copy_with_libs() {  # copy_with_libs SRC DST
  local lib
  mkdir -p "$st/$(dirname "$2")"; cp -L "$1" "$st/$2"
  for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*'); do
    [ -e "$st/$lib" ] && continue
    mkdir -p "$st/$(dirname "$lib")"; cp -L "$lib" "$st/$lib"
  done
}
copy_with_libs "$WORK/repart" /usr/bin/repart
lcs=$(ldconfig -p | awk '/libcryptsetup.so.12 .*x86-64/ && !n++ {print $NF}')  # no early exit: SIGPIPE under pipefail
[ -n "$lcs" ] || die "libcryptsetup.so.12 not installed on the host (our repart dlopens it)"
copy_with_libs "$lcs" "$lcs"
install -m755 "$HERE/vm-encrypt-init.sh" "$st/init"
printf 'bench key: correct horse battery staple' > "$st/etc/bench.key"; chmod 0600 "$st/etc/bench.key"
printf '[Partition]\nType=home\nFormat=ext4\nLabel=home\nEncrypt=key-file\nSizeMinBytes=20G\nSizeMaxBytes=20G\n' \
  > "$st/etc/repart.d/50-home.conf"
echo "${SEED//-/}" > "$st/etc/machine-id"
echo "root:x:0:0:root:/:/bin/sh" > "$st/etc/passwd"
mknod -m 600 "$st/dev/console" c 5 1
( cd "$st" && find . -mindepth 1 -printf '%P\0' | LC_ALL=C sort -z \
    | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet ) > "$INITRD"
rm -rf "$st"
log "initramfs $(du -h "$INITRD" | cut -f1); modules: ${loaded[*]}"

# ---- the disk: 21 GiB sparse, GPT with one 64 MiB foreign partition
BASE=$WORK/base.raw
rm -f "$BASE"; truncate -s 21G "$BASE"
printf 'label: gpt\nlabel-id: 0B5C4F5E-7A21-4C1D-9E3B-6D2F8A1C0E47\nsize=64MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=5A0C3E2B-1D4F-4B6A-8C9E-7F1A2B3C4D5E, name="foreign"\n' \
  | sfdisk -q "$BASE" || die "sfdisk base disk"

# ---- counts in the new partition's range of a raw file
partition_bytes() {  # partition_bytes DISK -> "allocated nonzero start size" (bytes)
  python3 - "$1" <<'EOF'
import os, subprocess, sys
img = sys.argv[1]
dump = subprocess.run(["sfdisk", "-d", img], capture_output=True, text=True, check=True).stdout
part = [l for l in dump.splitlines() if 'name="home"' in l][0]
start = int(part.split("start=")[1].split(",")[0]) * 512
size = int(part.split("size=")[1].split(",")[0]) * 512
end = start + size
alloc = nonzero = 0
fd = os.open(img, os.O_RDONLY)
pos = start
zero = bytes(4096)
while pos < end:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    if data >= end:
        break
    hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
    alloc += hole - data
    p = data
    while p < hole:
        n = min(1 << 20, hole - p)
        buf = os.pread(fd, n, p)
        for i in range(0, len(buf), 4096):
            if buf[i:i + 4096] != zero[:len(buf[i:i + 4096])]:
                nonzero += len(buf[i:i + 4096])
        p += n
    pos = hole
print(alloc, nonzero, start, size)
EOF
}

# ---- one boot: like tests/vm/lib.sh run_vm, plus the tool disk as vdc
boot_vm() {  # boot_vm DISK RESULTS LOG CMDLINE
  local bios=()
  [ -f /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
  : > "$3"
  timeout --foreground -k 5 "$TIMEOUT" \
    qemu-system-x86_64 -nodefaults -no-user-config \
      -machine q35,accel=tcg -cpu max -smp 1 -m "$MEM" "${bios[@]}" \
      -display none -no-reboot -serial "file:$3" \
      -kernel "$KDIR/vmlinux" -initrd "$INITRD" \
      -append "console=ttyS0 panic=-1 oops=panic loglevel=4 rdinit=/init $4" \
      -drive "file=$1,format=raw,if=none,id=disk0,cache=writeback,discard=unmap" \
      -device virtio-blk-pci,drive=disk0 \
      -drive "file=$2,format=raw,if=none,id=disk1,cache=writeback" \
      -device virtio-blk-pci,drive=disk1 \
      -drive "file=$TOOLS,format=raw,if=none,id=disk2,readonly=on" \
      -device virtio-blk-pci,drive=disk2
}

# ---- boots (ABBA)
declare -A WALL=() USER=() SYS=() RSS=() ALLOC=() NONZERO=() TABLE=()
TOOLS_RUN=${VMBENCH_TOOLS:-ours upstream}
order=()
for ((i = 0; i < RUNS; i++)); do
  if [ "$TOOLS_RUN" != "ours upstream" ]; then order+=("$i $TOOLS_RUN")
  elif (( i % 2 == 0 )); then order+=("$i ours" "$i upstream"); else order+=("$i upstream" "$i ours"); fi
done
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
T_START=$(now)
for e in "${order[@]}"; do
  read -r i tool <<< "$e"
  disk=$WORK/disk-$tool.raw
  res=$WORK/results-$tool.tar
  cp --sparse=always "$BASE" "$disk"
  rm -f "$res"; truncate -s 16M "$res"
  logf=$WORK/logs/boot-$tool-$i.log
  t=$(now)
  boot_vm "$disk" "$res" "$logf" "vmbench.tool=$tool vmbench.libs=${OURS_LIBS:-host}" || true
  boot=$(since "$t")
  out=$WORK/logs/r-$tool-$i; rm -rf "$out"; mkdir -p "$out"; tar -xf "$res" -C "$out" 2>/dev/null || true
  if ! grep -q '^VMTEST-RESULT: PASS' "$logf"; then
    grep '^VMBENCH' "$logf" >&2 || tail -30 "$logf" >&2
    die "$tool boot $i failed (log: $logf)"
  fi
  read -r wall user sys rss < "$out/time"
  read -r alloc nonzero _ _ < <(partition_bytes "$disk")
  WALL[$tool]+="$wall "; USER[$tool]+="$user "; SYS[$tool]+="$sys "; RSS[$tool]+="$rss "
  ALLOC[$tool]+="$alloc "; NONZERO[$tool]+="$nonzero "
  sfdisk -d "$disk" | sed "s|$disk|DISK|" > "$WORK/logs/table-$tool"
  cp "$out/version" "$WORK/logs/version-$tool"
  log "$tool run $i: repart ${wall}s (user $user, sys $sys, max RSS ${rss} kB); boot ${boot}s; partition: $((alloc >> 20)) MiB allocated, $((nonzero >> 20)) MiB non-zero"
  rm -f "$disk"
done
T_END=$(now)
[ "$TOOLS_RUN" = "ours upstream" ] || { log "only $TOOLS_RUN ran: no report"; exit 0; }
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)
same_table=differ
cmp -s "$WORK/logs/table-ours" "$WORK/logs/table-upstream" && same_table=same

# ---- report
python3 - "$WORK/results.md" "$RUNS" "$MEM" "$GIT" "$KVER" "$LOAD_START" "$LOAD_END" "$same_table" \
  "$(cat "$WORK/logs/version-ours")" "$(cat "$WORK/logs/version-upstream")" \
  "$(awk -v a="$T_START" -v b="$T_END" 'BEGIN{printf "%.1f", (b - a) / 60}')" \
  "${WALL[ours]}" "${WALL[upstream]}" "${USER[ours]}" "${USER[upstream]}" "${SYS[ours]}" "${SYS[upstream]}" \
  "${RSS[ours]}" "${RSS[upstream]}" "${ALLOC[ours]}" "${ALLOC[upstream]}" "${NONZERO[ours]}" "${NONZERO[upstream]}" <<'EOF'
import datetime, os, platform, statistics, sys
a = sys.argv[1:]
path, runs, mem, git, kver, l0, l1, table, v_ours, v_up, minutes = a[:11]
vals = [list(map(float, x.split())) for x in a[11:]]
names = ["wall", "user", "sys", "maxrss", "alloc", "nonzero"]
m = {}
for k, n in enumerate(names):
    m[n] = (statistics.median(vals[2 * k]), statistics.median(vals[2 * k + 1]), vals[2 * k], vals[2 * k + 1])
def mib(x): return f"{x / 1048576:.1f} MiB"
cpu = open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()
L = ["# Benchmark: first boot with Encrypt=key-file on a 20 GiB partition (QEMU VM), repart vs. upstream\n",
     f"Generated by `bench/vm-encrypt.sh` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC "
     f"(RUNS={runs} boots per tool, ABBA order, total {minutes} min). Do not edit by hand; re-run the script.\n",
     "| | repart | upstream | ratio repart/upstream |", "|---|---:|---:|---:|"]
for n, label, f in (("wall", "repart run, wall (guest, median)", lambda x: f"{x:.2f} s"),
                    ("user", "user CPU", lambda x: f"{x:.2f} s"), ("sys", "system CPU", lambda x: f"{x:.2f} s"),
                    ("maxrss", "max RSS (largest process)", lambda x: f"{x / 1024:.1f} MiB"),
                    ("alloc", "new partition: allocated in the raw file", mib),
                    ("nonzero", "new partition: non-zero 4 KiB blocks (bytes written)", mib)):
    o, u, _, _ = m[n]
    L.append(f"| {label} | {f(o)} | {f(u)} | {o / u:.2f} |" if u else f"| {label} | {f(o)} | {f(u)} | n/a |")
L.append("")
L.append("All runs: " + "; ".join(f"{n} repart {m[n][2]} upstream {m[n][3]}" for n in ("wall",)) + " (seconds).")
L.append(f"Partition tables after the first boot (`sfdisk -d`): {table}.\n")
L.append("## Method\n")
L.append("- Disk: a sparse 21 GiB raw file, GPT with one 64 MiB foreign partition; the definition "
         "`Type=home Format=ext4 Encrypt=key-file SizeMinBytes=20G SizeMaxBytes=20G`; "
         "`repart --dry-run=no --seed=… --key-file=… --definitions=/etc/repart.d /dev/vda` (no --offline: "
         "live mode, loop device over the new partition, LUKS2 on it, mkfs through dm-crypt).")
L.append("- Each boot gets a fresh copy of the disk; both tools run in the same guest (same initramfs, kernel, "
         "modules), with Debian 13's mke2fs from the oracle's tool tree (a read-only ext4 disk mounted at its "
         "host path) first on PATH for both. " + ("Our binary runs through the tree's ld.so with upstream's "
         "libraries (`OURS_LIBS=suite`): the same libcryptsetup, OpenSSL, libdevmapper." if os.environ.get("OURS_LIBS") == "suite"
         else "Our binary dlopens the host's libcryptsetup (copied into the initramfs; `OURS_LIBS=suite` runs it "
         "with upstream's), upstream its own Debian 13 one."))
L.append("- Time: busybox `time` around the repart process in the guest (wall = elapsed, includes the argon2id "
         "PBKDF that libcryptsetup benchmarks to ~2 s in both tools). TCG makes everything slow, the ratio is "
         "what matters.")
L.append("- Bytes written: after the boot, on the host, the new partition's byte range of the raw file: "
         "allocated extents (SEEK_DATA/SEEK_HOLE; QEMU `discard=unmap`) and 4 KiB blocks that are not all zero. "
         "dm-crypt turns written zeros into non-zero ciphertext, so non-zero = what was written through it.")
L.append("- After repart, the guest opens the new partition with the key file (Debian 13's cryptsetup) and "
         "mounts the ext4 inside (a failed check fails the benchmark).")
L.append(f"- Load average of the host {l0} at the start, {l1} at the end (the host is shared; TCG is single-threaded "
         "per vCPU, so host load slows the guest).")
L.append("\n## Machine\n")
L.append(f"- host: {os.cpu_count()} CPUs, {cpu}, kernel {platform.release()}")
L.append(f"- guest: QEMU TCG, 1 vCPU, {mem} MiB, Debian kernel {kver}")
L.append(f"- repart (ours): {v_ours} (git {git}); upstream: {v_up}")
text = "\n".join(L) + "\n"
open(path, "w").write(text)
print(text)
EOF
if [ "${WRITE_DOC:-0}" = 1 ]; then cp "$WORK/results.md" "$DOC"; log "wrote $DOC"; fi
