#!/usr/bin/env python3
"""Benchmark driver: repart vs. upstream systemd-repart 257 (the oracle).

Called by bench/run.sh, which documents the environment variables. Runs each
workload alternately with both tools (ABBA order), measures wall time, CPU
time of the process tree, the largest single-process RSS in the tree and the
sampled sum of RSS over the tree, compares `sfdisk -d` of the results, prints
a summary and writes the Markdown report.
"""
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

SEED = "e2a40bf9-73f1-4278-9160-49c031e7aedd"
EPOCH = "1700000000"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# Targets from the "Benchmarks against upstream" issue (ratio repart/upstream
# of the median wall time).
TARGETS = {"W1": 0.90, "W2": 0.5, "W3": 1.0, "W3L": 1.0, "W4": 0.2, "W5": 0.6}

# Encrypt=key-file workloads (bench/run.sh W6K W6 W6L; their own report,
# docs/benchmarks-encrypt.md). W6K is the fixed cost, mostly the argon2id PBKDF.
ENCRYPTED = ("W6K", "W6", "W6L")
PBKDF_FLOOR = "W6K"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Measurement of one command

HZ = os.sysconf("SC_CLK_TCK")


def cpu_jiffies():
    """(busy, total) jiffies summed over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    total = sum(v[:8])  # without guest (already in user)
    return total - idle, total


def wait_for_quiet(max_wait, threshold=0.15, window=0.5):
    """Wait (up to max_wait s) until other processes use < threshold of the CPUs.

    Returns the busy fraction seen in the last window. The machine may be
    shared with builds; starting runs only in quiet moments reduces noise.
    """
    deadline = time.time() + max_wait
    while True:
        b0, t0 = cpu_jiffies()
        time.sleep(window)
        b1, t1 = cpu_jiffies()
        busy = (b1 - b0) / max(1, t1 - t0)
        if busy < threshold or time.time() >= deadline:
            return busy


class TreeRssSampler(threading.Thread):
    """Samples the summed VmRSS of all processes in the session `sid`.

    The child is started with setsid(), so it and all its descendants (mkfs,
    mcopy, ...) share the session id unless they call setsid() themselves
    (none of the tools involved do). Only newly appearing PIDs get their
    /proc/PID/stat read, so a sample costs well under a millisecond.
    """

    def __init__(self, sid, interval):
        super().__init__(daemon=True)
        self.sid = sid
        self.interval = interval
        self.peak_kb = 0
        self.tool_hwm_kb = 0
        self.samples = 0
        self.stop = threading.Event()
        self.seen = {}  # pid -> in session?

    def _scan(self):
        total = 0
        live = set()
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            live.add(p)
            info = self.seen.get(p)
            if info is None:
                try:
                    with open(f"/proc/{p}/stat") as f:
                        st = f.read()
                    fields = st[st.rindex(")") + 2:].split()
                    # fields[1] = ppid, fields[3] = session id
                    info = (int(fields[3]) == self.sid, int(fields[1]))
                except (OSError, ValueError):
                    info = (False, 0)
                self.seen[p] = info
            member, ppid = info
            if not member:
                continue
            try:
                with open(f"/proc/{p}/statm") as f:
                    total += int(f.read().split()[1]) * PAGE_KB
                if ppid == self.sid:
                    # the tool itself (child of the launcher): its own peak
                    with open(f"/proc/{p}/status") as f:
                        for line in f:
                            if line.startswith("VmHWM:"):
                                self.tool_hwm_kb = max(self.tool_hwm_kb, int(line.split()[1]))
                                break
            except (OSError, ValueError, IndexError):
                pass
        # forget dead pids (PID reuse)
        for p in list(self.seen):
            if p not in live:
                del self.seen[p]
        self.samples += 1
        if total > self.peak_kb:
            self.peak_kb = total

    def run(self):
        while not self.stop.is_set():
            self._scan()
            self.stop.wait(self.interval)


def measure(argv, env, cwd, out_path, err_path, interval, launcher):
    """Run argv through the C launcher (bench/measure.c) in a new session."""
    res = out_path + ".rusage"
    b0, t0 = cpu_jiffies()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen([launcher, res] + argv, env=env, cwd=cwd, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        sampler = TreeRssSampler(p.pid, interval)
        sampler.start()
        p.wait()
        sampler.stop.set()
        sampler.join()
    b1, t1 = cpu_jiffies()
    try:
        wall_ns, user_us, sys_us, maxrss, rc = (int(x) for x in open(res).read().split())
    except (OSError, ValueError):
        raise SystemExit(f"launcher failed for {argv} (exit {p.returncode}), see {err_path}")
    # Runs shorter than the sampling interval may not have been sampled at
    # all: the tree sum is at least the largest single process, and without
    # a sample of the tool itself its own peak is bounded by ru_maxrss.
    ncpu = os.cpu_count() or 1
    wall = wall_ns / 1e9
    # CPU used by *other* processes during the run, as a fraction of the machine
    foreign = max(0.0, (b1 - b0) / HZ - (user_us + sys_us) / 1e6) / max(wall * ncpu, 1e-9)
    return {
        # jiffies are 10 ms: meaningless for short runs
        "foreign": min(foreign, 1.0) if wall >= 0.5 else float("nan"),
        "wall": wall_ns / 1e9,
        "user": user_us / 1e6,
        "sys": sys_us / 1e6,
        "cpu": (user_us + sys_us) / 1e6,
        "maxrss_kb": maxrss,  # largest single process of the tree (kernel cmaxrss), not a sum
        "treerss_kb": max(sampler.peak_kb, maxrss),
        "hwm_kb": sampler.tool_hwm_kb or maxrss,
        "samples": sampler.samples,
        "rc": rc,
    }


# --------------------------------------------------------------------------
# Set-up


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, **kw)


def out(cmd, env=None):
    try:
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, timeout=30)
        return (r.stdout + r.stderr).strip()
    except Exception as e:  # noqa: BLE001
        return f"({e})"


def oracle_argv(ldso_top, oracle_wrapper):
    """Run the oracle's systemd-repart as directly as possible.

    bin/systemd-repart in the ldso tree is a /bin/sh wrapper that execs the
    suite's ld.so with --library-path. We exec ld.so ourselves (same
    arguments, same MKE2FS_CONFIG/MTOOLSRC that the other wrappers set), so
    the oracle pays neither bash (reference-repart) nor sh start-up; only
    the explicit ld.so invocation remains (~1 ms, measured as W0).
    """
    w = os.path.join(ldso_top, "bin", "systemd-repart")
    try:
        text = open(w).read()
        m = re.search(r'^exec (\S+) --library-path (\S+) --argv0 "\$0" (\S+) "\$@"', text, re.M)
        if m:
            return [m.group(1), "--library-path", m.group(2), "--argv0", "systemd-repart", m.group(3)], "ld.so direct"
    except OSError:
        pass
    return [oracle_wrapper], "reference-repart wrapper"


def sfdisk_dump(img):
    r = subprocess.run(["sfdisk", "-d", img], capture_output=True, text=True)
    if r.returncode != 0:
        return f"(sfdisk failed: {r.stderr.strip()})"
    name = os.path.basename(img)
    lines = []
    for line in r.stdout.splitlines():
        if line.startswith("device:"):
            continue
        lines.append(line.replace(img, "IMG").replace(name, "IMG"))
    return "\n".join(lines)


# --------------------------------------------------------------------------


def main():
    cfg = json.loads(os.environ["BENCH_CFG"])
    work = cfg["work"]
    runs = cfg["runs"]
    repo = cfg["repo"]
    ldso_top = cfg["ldso_top"]
    workloads = cfg["workloads"]
    interval = cfg["interval"]
    ours = os.path.join(work, "bin", "repart")
    launcher = os.path.join(work, "bin", "measure")
    oracle, oracle_how = oracle_argv(ldso_top, cfg["oracle_wrapper"])

    env = dict(os.environ)
    env.pop("BENCH_CFG", None)
    env["PATH"] = os.path.join(ldso_top, "bin") + ":" + env["PATH"]
    env["SOURCE_DATE_EPOCH"] = EPOCH
    env["SYSTEMD_PAGER"] = "cat"
    env["SYSTEMD_COLORS"] = "0"
    env["MKE2FS_CONFIG"] = os.path.join(ldso_top, "root", "etc", "mke2fs.conf")
    env["MTOOLSRC"] = os.path.join(ldso_top, "root", "etc", "mtools.conf")
    env.pop("SYSTEMD_LOG_LEVEL", None)

    defs = os.path.join(work, "defs")
    imgdir = os.path.join(work, "img")
    logdir = os.path.join(work, "logs")
    os.makedirs(imgdir, exist_ok=True)
    os.makedirs(logdir, exist_ok=True)

    create = ["--empty=create", "--size=auto", "--offline=yes", f"--seed={SEED}", "--dry-run=no"]
    base = os.path.join(work, "w3-base.img")

    def spec(w):
        """(args, prepare(img)) for workload w."""
        if w == "W0":
            return ["--version"], None, False
        if w in ("W1", "W2", "W5"):
            d = {"W1": "w1", "W2": "w2", "W5": "w5"}[w]
            return [f"--definitions={defs}/{d}"] + create, "fresh", True
        if w in ENCRYPTED:
            return [f"--definitions={defs}/{w.lower()}", f"--key-file={work}/keyfile"] + create, "fresh", True
        if w in ("W3", "W3L"):
            off = "yes" if w == "W3" else "no"
            return [f"--definitions={defs}/w3", f"--offline={off}", f"--seed={SEED}", "--dry-run=no"], "grown", True
        if w == "W4":
            return [f"--definitions={defs}/w4", "--empty=allow", "--size=auto", f"--seed={SEED}", "--dry-run=yes"], "planning", True
        raise SystemExit(f"unknown workload {w}")

    def prepare(kind, img):
        if os.path.exists(img):
            os.unlink(img)
        if kind == "grown":
            sh(f"cp --sparse=always '{base}' '{img}' && truncate -s +10G '{img}'")
        elif kind == "planning":
            sh(f"truncate -s 20G '{img}'")

    if any(w in ("W3", "W3L") for w in workloads) and not os.path.exists(base):
        log("building the W3 base image (W1 definitions, with the oracle)")
        args, _, _ = spec("W1")
        r = measure(oracle + args + [base], env, work, os.path.join(logdir, "w3-base.out"),
                    os.path.join(logdir, "w3-base.err"), interval, launcher)
        if r["rc"] != 0:
            raise SystemExit("building the W3 base image failed, see " + os.path.join(logdir, "w3-base.err"))

    ours_argv = [ours]
    if cfg["ours_libs"] == "suite" and oracle_how == "ld.so direct":
        # our binary through the suite's ld.so and library path: the same libcryptsetup,
        # libcrypto and libargon2 (dlopened) as upstream
        ours_argv = oracle[:3] + [ours]
    cfg["ours_how"] = " ".join(ours_argv).replace(ours, "repart")
    tools = {"repart": ours_argv, "upstream": oracle}
    results = {}  # (w, tool) -> [run dicts]
    checks = {}   # w -> list of problems
    kdf = {}      # w -> tool -> PBKDF parameters of keyslot 0 (last image)
    t_start = time.time()
    load_start = os.getloadavg()
    for w in workloads:
        args, kind, has_img = spec(w)
        checks[w] = []
        ref_dump = {}
        order = []
        nwarm = cfg["warmup"]
        for i in range(runs + nwarm):
            pair = ["repart", "upstream"] if i % 2 == 0 else ["upstream", "repart"]
            order += [(i, t) for t in pair]
        for i, tool in order:
            warm = i < nwarm
            img = os.path.join(imgdir, f"{w}-{tool}.img")
            if has_img:
                prepare(kind, img)
            sh("sync")
            if cfg["quiet_wait"] > 0:
                wait_for_quiet(cfg["quiet_wait"])
            tag = f"{w}-{tool}-{'warm' if warm else i - nwarm}"
            argv = tools[tool] + args + ([img] if has_img else [])
            r = measure(argv, env, work, os.path.join(logdir, tag + ".out"),
                        os.path.join(logdir, tag + ".err"), interval, launcher)
            r["tool"], r["workload"], r["run"], r["warm"] = tool, w, i, warm
            if r["rc"] != 0 and w != "W0":
                checks[w].append(f"{tool} run {i}: exit status {r['rc']} (see {logdir}/{tag}.err)")
            if has_img:
                if kind == "planning":
                    # nothing is written: compare what the tools printed
                    d = open(os.path.join(logdir, tag + ".out")).read().replace(img, "IMG")
                else:
                    d = sfdisk_dump(img)
                if tool not in ref_dump:
                    ref_dump[tool] = d
                    with open(os.path.join(logdir, f"{w}-{tool}.sfdisk"), "w") as f:
                        f.write(d + "\n")
                elif d != ref_dump[tool]:
                    checks[w].append(f"{tool} run {i}: sfdisk -d differs from its own first run")
            log(f"{tag:<22} wall {r['wall']:7.3f}s  cpu {r['cpu']:7.3f}s  "
                f"own {r['hwm_kb'] / 1024:6.1f}M  maxrss {r['maxrss_kb'] / 1024:7.1f}M  tree {r['treerss_kb'] / 1024:7.1f}M  rc {r['rc']}")
            if not warm:
                results.setdefault((w, tool), []).append(r)
        if has_img:
            if ref_dump.get("repart") != ref_dump.get("upstream"):
                what = "stdout" if kind == "planning" else "sfdisk -d"
                msg = f"{what} MISMATCH between repart and upstream (see {logdir}/{w}-*.sfdisk)"
                checks[w].append(msg)
                log("!" * 20 + f" {w}: {msg}")
            # informational: are the final images byte-identical?
            a, b = (os.path.join(imgdir, f"{w}-{t}.img") for t in ("repart", "upstream"))
            if kind != "planning" and os.path.exists(a) and os.path.exists(b):
                same = subprocess.run(["cmp", "-s", a, b]).returncode == 0
                checks.setdefault(w + ":bytes", []).append("identical" if same else "differ")
            if w in ENCRYPTED:
                kdf[w] = {t: keyslot_pbkdf(os.path.join(imgdir, f"{w}-{t}.img"), work) for t in ("repart", "upstream")}
    elapsed = time.time() - t_start
    cfg["load"] = (load_start, os.getloadavg())

    # ---------------------------------------------------------------- summary
    def med(w, tool, key):
        vals = [r[key] for r in results[(w, tool)] if r[key] == r[key]]  # drop NaN
        return statistics.median(vals) if vals else float("nan")

    rows = []
    for w in workloads:
        row = {"w": w}
        for key in ("wall", "cpu", "maxrss_kb", "treerss_kb", "hwm_kb", "foreign"):
            a, b = med(w, "repart", key), med(w, "upstream", key)
            row[key] = (a, b, a / b if b else float("nan"))
        walls = {t: sorted(r["wall"] for r in results[(w, t)]) for t in ("repart", "upstream")}
        row["range"] = walls
        row["target"] = TARGETS.get(w)
        row["sfdisk"] = "MISMATCH" if any("MISMATCH" in c for c in checks[w]) else ("n/a" if w == "W0" else ("same stdout" if w == "W4" else "same"))
        row["bytes"] = (checks.get(w + ":bytes") or ["n/a"])[0]
        row["problems"] = checks[w]
        rows.append(row)

    info = machine_info(cfg, env, ours, oracle, oracle_how)
    info["kdf"] = kdf
    text = report(rows, cfg, info, elapsed)
    print(text)
    with open(os.path.join(work, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(work, "runs.json"), "w") as f:
        json.dump([r for v in results.values() for r in v], f, indent=1)
    if cfg["write_doc"]:
        with open(cfg["doc"], "w") as f:
            f.write(text)
        log(f"wrote {cfg['doc']}")
    if any(r["problems"] for r in rows):
        log("PROBLEMS: " + "; ".join(p for r in rows for p in r["problems"]))
        sys.exit(1)


def keyslot_pbkdf(img, work):
    """PBKDF line of keyslot 0 of the image's first partition (from `cryptsetup luksDump`
    of a copy of the partition's first 16 MiB: the LUKS2 header, as a detached header)."""
    hdr = os.path.join(work, "luks-header.tmp")
    try:
        start = next(int(l.split("start=")[1].split(",")[0]) for l in sfdisk_dump(img).splitlines()
                     if "start=" in l)
        with open(img, "rb") as f, open(hdr, "wb") as o:
            f.seek(start * 512)
            o.write(f.read(16 << 20))
        dump = out(f"cryptsetup luksDump '{hdr}'")
    except (OSError, StopIteration, ValueError) as e:
        return f"({e})"
    finally:
        if os.path.exists(hdr):
            os.unlink(hdr)
    want = ("PBKDF:", "Time cost:", "Memory:", "Threads:")
    vals = [l.strip() for l in dump.splitlines() if l.strip().startswith(want)]
    return ", ".join(" ".join(v.split()) for v in vals[:4]) if vals else "(no keyslot found)"


def machine_info(cfg, env, ours, oracle, oracle_how):
    mem = out("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    cpu = out("awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo")
    e = env
    tools = {
        "repart (ours)": out(f"'{ours}' --version | head -1") + f" (git {cfg['git']})",
        "systemd-repart (upstream)": out(" ".join(f"'{a}'" for a in oracle) + " --version | head -1", e),
        "mke2fs": out("mke2fs -V 2>&1 | head -1", e),
        "mksquashfs": out("mksquashfs -version 2>&1 | head -1", e),
        "mkfs.erofs": out("mkfs.erofs -V 2>&1 | head -1", e),
        "mkfs.vfat": out("mkfs.vfat --help 2>&1 | head -1", e),
        "mcopy": out("mcopy --version 2>&1 | head -1", e),
        "libcryptsetup of the host (ours with OURS_LIBS=host)": out("ls -l $(ldconfig -p | awk '/libcryptsetup.so.12 .*x86-64/ {print $NF; exit}') | sed 's/.*-> //'"),
        "libcryptsetup of the suite (upstream; ours with OURS_LIBS=suite)": out(f"ls {cfg['ldso_top']}/root/usr/lib/x86_64-linux-gnu/ | grep '^libcryptsetup.so.12.'"),
        "sfdisk (host, for the check)": out("sfdisk --version"),
        "rustc": out("rustc --version"),
    }
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "mem": mem, "kernel": platform.release(),
        "fs": out(f"findmnt -no FSTYPE,OPTIONS -T '{cfg['work']}'"),
        "tools": tools, "oracle_how": oracle_how,
    }


def fmt_t(x):
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def fmt_m(kb):
    return f"{kb / 1024:.1f} MiB"


def report(rows, cfg, info, elapsed):
    L = []
    if set(cfg["workloads"]) <= set(ENCRYPTED):
        L.append("# Benchmarks: Encrypt=key-file image builds, repart vs. upstream systemd-repart 257\n")
    else:
        L.append("# Benchmarks: repart vs. upstream systemd-repart 257\n")
    L.append(f"Generated by `bench/run.sh` on {info['date']} "
             f"({'QUICK=1, reduced data' if cfg['quick'] else 'full data'}, RUNS={cfg['runs']}, "
             f"warm-up runs per tool: {cfg['warmup']}, total {elapsed / 60:.1f} min). "
             "Do not edit by hand; re-run the script.\n")
    L.append("## Results (medians)\n")
    L.append("Ratio = repart / upstream (lower is better for repart). "
             "`target` is the wall-time ratio from the issue; peak RSS target: repart <= upstream.\n")
    L.append("| workload | wall repart | wall upstream | ratio | target | | CPU repart | CPU upstream | CPU ratio "
             "| sfdisk -d | image bytes |")
    L.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|")
    for r in rows:
        wa, wb, wr = r["wall"]
        ca, cb, cr = r["cpu"]
        t = r["target"]
        verdict = "" if t is None else ("met" if wr <= t else "**missed**")
        L.append(f"| {r['w']} | {fmt_t(wa)} | {fmt_t(wb)} | {wr:.2f} | {'' if t is None else f'<= {t}'} | {verdict} "
                 f"| {fmt_t(ca)} | {fmt_t(cb)} | {cr:.2f} | {r['sfdisk']} | {r['bytes']} |")
    L.append("")
    L.append("Memory (medians). *own* = peak RSS (VmHWM) of the repart / systemd-repart process alone, the part "
             "repart controls; *tree* = peak of the summed RSS of the whole process tree (closest to a cgroup "
             "`memory.peak`; sampled, judged with 10% tolerance because mksquashfs alone varies by about 10% "
             "between identical runs); *max single* = largest single process in the tree (usually the mkfs tool). "
             "Target: peak RSS <= upstream.\n")
    L.append("| workload | own repart | own upstream | | tree repart | tree upstream | | max single repart | max single upstream |")
    L.append("|---|---:|---:|---|---:|---:|---|---:|---:|")
    for r in rows:
        ta, tb, _ = r["treerss_kb"]
        ha, hb, _ = r["hwm_kb"]
        ma, mb, _ = r["maxrss_kb"]
        v_own = "met" if ha <= hb else "**missed**"
        v_tree = "met" if ta <= tb * 1.10 else "**missed**"
        L.append(f"| {r['w']} | {fmt_m(ha)} | {fmt_m(hb)} | {v_own} | {fmt_m(ta)} | {fmt_m(tb)} | {v_tree} "
                 f"| {fmt_m(ma)} | {fmt_m(mb)} |")
    L.append("")
    L.append("Spread of the wall times (min .. max over the measured runs):\n")
    for r in rows:
        a, b = r["range"]["repart"], r["range"]["upstream"]
        fa, fb, _ = r["foreign"]
        other = ("" if fa != fa else
                 f"; median CPU share used by other processes during the runs: {fa * 100:.0f}% / {fb * 100:.0f}%")
        L.append(f"- {r['w']}: repart {fmt_t(a[0])} .. {fmt_t(a[-1])}; upstream {fmt_t(b[0])} .. {fmt_t(b[-1])}{other}")
    by_w = {r["w"]: r for r in rows}
    if PBKDF_FLOOR in by_w and any(w in by_w for w in ENCRYPTED if w != PBKDF_FLOOR):
        fa, fb, _ = by_w[PBKDF_FLOOR]["wall"]
        L.append("")
        L.append(f"PBKDF excluded: both tools leave libcryptsetup's argon2id keyslot PBKDF at the library default "
                 f"(benchmarked for a 2000 ms iteration time; the keyslot is derived when it is added and again "
                 f"to unlock it for the in-place encryption), so its cost is the same by construction, but it is "
                 f"large and, being benchmarked, varies with the load. {PBKDF_FLOOR} (an empty 64M encrypted partition) measures that fixed cost: "
                 f"{fmt_t(fa)} ours, {fmt_t(fb)} upstream. The table below subtracts each tool's own "
                 f"{PBKDF_FLOOR} median from its medians (what the tree and the partition size add):\n")
        L.append("| workload | wall - W6K repart | wall - W6K upstream | ratio | CPU - W6K repart | CPU - W6K upstream | CPU ratio |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        ca0, cb0, _ = by_w[PBKDF_FLOOR]["cpu"]
        for w in ENCRYPTED:
            if w == PBKDF_FLOOR or w not in by_w:
                continue
            wa, wb, _ = by_w[w]["wall"]
            ca, cb, _ = by_w[w]["cpu"]
            da, db, ea, eb = wa - fa, wb - fb, ca - ca0, cb - cb0
            L.append(f"| {w} | {fmt_t(da)} | {fmt_t(db)} | {da / db:.2f} | {fmt_t(ea)} | {fmt_t(eb)} | {ea / eb:.2f} |")
        L.append("")
        L.append("Keyslot 0 PBKDF parameters chosen by the benchmark (last image of each tool; Memory in KiB). "
                 "The peak RSS of both tools in these workloads is argon2id's memory (during libcryptsetup's "
                 "benchmark, which tries larger costs, and the derivations), picked per run and depending on the "
                 "machine's load, not the tools' own memory:\n")
        for w, v in sorted(info.get("kdf", {}).items()):
            L.append(f"- {w}: repart {v['repart']}; upstream {v['upstream']}")
    probs = [(r["w"], p) for r in rows for p in r["problems"]]
    L.append("")
    if probs:
        L.append("**Problems found in this run:**\n")
        for w, p in probs:
            L.append(f"- {w}: {p}")
    else:
        L.append("No problems: every run exited 0 and both tools produced the same `sfdisk -d` in every workload.")
    L.append("")
    L.append("## Workloads\n")
    L.append("All inputs are generated by `bench/gen.py` (fixed seeds; incompressible data is an "
             "`openssl enc -aes-128-ctr` keystream, compressible data is repeated text; all mtimes "
             "2023-11-14, `SOURCE_DATE_EPOCH=1700000000`). Sizes below are for the full run; `QUICK=1` "
             "uses 1/10 of the files and bytes.\n")
    desc = []
    desc.append("- **W0** start-up: `--version` (the cost of starting each binary; upstream runs through the suite's ld.so).")
    desc.append("- **W1** appliance: ESP (vfat, exactly 200M, 2 files incl. a 24 MiB `BOOTX64.EFI`) + squashfs "
             "`Minimize=guess` store of ~300 MB in 20,000 files (50% incompressible); "
             "`--empty=create --size=auto --offline=yes --seed=… --dry-run=no`.")
    desc.append("- **W2** ext4 root, `Minimize=guess`: four `CopyFiles=` trees (usr 200 MB/13k files, opt 60 MB/3k, "
             "var 30 MB/2k, etc 8 MB/2k small files) to /usr /opt /var /etc, plus `ExcludeFiles=` of a source "
             "subtree (10 MB/400 files) and `ExcludeFilesTarget=/var/cache` (6 MB/200 files); same flags as W1.")
    desc.append("- **W3** first boot: the W1 image (built once by upstream) grown by 10 GiB with `truncate`, then the ESP "
             "definition + home (ext4, Weight=2000) + var (ext4, Weight=1000); `--dry-run=no --offline=yes`. "
             "The store partition is left out of the definitions so it is kept as a foreign partition.")
    desc.append("- **W3L** the same with `--offline=no` (loop devices, like a first boot on a block device).")
    desc.append("- **W4** planning only: one ext4 root definition with 5,000 `CopyFiles=` lines (one per small "
             "store path, all existing) + 100 small `linux-generic` definitions, on an existing empty 20 GiB "
             "sparse file: `--empty=allow --size=auto --dry-run=yes` (nothing is written; both tools print the "
             "table and \"Refusing to repartition\", exit 0).")
    desc.append("- **W5** multi-partition: ext4 (Minimize=guess, 60 MB/4k files), vfat ESP (100M, 20 MB/300 files), "
             "erofs (Minimize=guess, 60 MB/4k files), squashfs (Minimize=guess, 60 MB/4k files) in one image; "
             "same flags as W1.")
    desc.append("- **W6** Encrypt=key-file ext4, 512M (`SizeMinBytes=SizeMaxBytes=`), filled with W2's usr "
                "and opt trees (260 MB, 16k files): made and filled in a file, then encrypted in place "
                "(LUKS2 offline reencryption, every block of the partition); flags of W1 plus `--key-file=`.")
    desc.append("- **W6L** the same tree in a 2G partition (the in-place encryption of 2 GiB dominates).")
    desc.append("- **W6K** an empty 64M Encrypt=key-file ext4 partition: the fixed cost of an encrypted "
                "partition, almost all of it libcryptsetup's argon2id PBKDF (benchmark, keyslot derivation, "
                "unlock for the reencryption), which both tools leave at libcryptsetup's default "
                "(2000 ms iteration time).")
    for d in desc:
        if d.split("**")[1] in cfg["workloads"]:
            L.append(d)
    L.append("")
    L.append("## Method\n")
    L.append(f"- Both tools run **alternately in the same run** (ABBA order per iteration), {cfg['runs']} measured "
             f"runs each after {cfg['warmup']} warm-up run(s) each, with identical inputs, environment and mkfs "
             f"tools: `{cfg['ldso_top']}/bin` (Debian trixie's mkfs tools through the suite's ld.so) comes first "
             "on PATH for both, and `MKE2FS_CONFIG`/`MTOOLSRC` point into that tree for both.")
    L.append(f"- Upstream is started as: {info['oracle_how']} (the wrapper script's own `exec` line, without "
             "the bash/sh wrappers). Our binary is a snapshot copy of `target/release/repart` "
             "taken when the run started.")
    if cfg["ours_libs"] == "suite":
        L.append(f"- `OURS_LIBS=suite`: our binary runs as `{cfg['ours_how']}`, i.e. with the suite's libraries "
                 "(the same libcryptsetup, OpenSSL, libargon2 that upstream dlopens), so that only the tools differ.")
    else:
        L.append("- Our binary runs with the host's libraries (`OURS_LIBS=host`; its libcryptsetup is the host's, "
                 "see Machine); `OURS_LIBS=suite` runs it with upstream's.")
    L.append("- Every run gets a fresh output image; `sync` (not timed) before every run so that one run's "
             "writeback does not land in the next. Page cache stays warm (sources are read by both tools alternately).")
    L.append("- Each command is started by a tiny C launcher (`bench/measure.c`, compiled by run.sh): "
             "**wall** is `CLOCK_MONOTONIC` around fork..wait4, **CPU** is user+sys from `wait4()`, which includes "
             "all descendants the tool waited for (mkfs, mcopy, ...). (Forking directly from Python would "
             "charge Python's ~16 MiB RSS high-water mark to every child: the kernel records the pre-exec peak.)")
    L.append("- **max RSS**: `ru_maxrss` from `wait4()`: the kernel propagates the maximum of reaped "
             "descendants, so this is the largest *single* process in the tree (same as GNU time's `%M`), not a sum.")
    L.append(f"- **tree RSS**: the peak of the *sum* of VmRSS over all processes of the run's session "
             f"(started with setsid; includes the ~1 MiB launcher), sampled every {int(cfg['interval'] * 1000)} ms from /proc; short-lived peaks "
             "can be missed and shared pages count once per process. A cgroup `memory.peak` would be exact, but "
             "this machine has cgroup v1 for memory (v2 has no memory controller here) and the benchmark does "
             "not move processes out of the cgroup it was started in.")
    L.append("- **sfdisk -d**: compared for every run (device names normalised; for W4, which writes nothing, "
             "the printed table is compared instead); a mismatch between the tools "
             "fails the script (exit 1) and is listed above. **image bytes**: whether the last images of both "
             "tools are byte-identical (informational: mke2fs picks a random directory hash seed in both "
             "tools, so ext4 images always differ in the superblock; W2's file contents were checked identical "
             "with `debugfs rdump` + `diff -r` when the script was written).")
    L.append(f"- The machine may be shared with other work. Before each run the script waits (up to "
             f"{cfg['quiet_wait']} s, `QUIET_WAIT=`) until other processes use less than 15% of the CPUs, and it "
             "records how much CPU other processes used *during* each run (from /proc/stat minus the run's own "
             "CPU time, only for runs >= 0.5 s; listed with the spreads above). That share includes kernel threads, "
             "e.g. writeback of the data the tool itself just wrote, so it is not purely outside noise.")
    L.append("- Timings are only reported, never asserted. Load average "
             f"{cfg['load'][0][0]:.2f} at the start and {cfg['load'][1][0]:.2f} at the end of this run "
             "(alternating ABBA order spreads outside load evenly over both tools; CPU time is less "
             "sensitive to it than wall time).")
    L.append("")
    L.append("## Machine\n")
    L.append(f"- {info['nproc']} CPUs, {info['cpu']}, {info['mem']} RAM, kernel {info['kernel']}")
    L.append(f"- work dir file system: {info['fs']}")
    for k, v in info["tools"].items():
        L.append(f"- {k}: {v}")
    L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
