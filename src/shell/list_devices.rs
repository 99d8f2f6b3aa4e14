//! `--list-devices`: the block devices repart could operate on, as upstream 257 lists
//! them (udev's device database decides what exists): every block device that udev
//! has initialized (it has a `/run/udev/data/b MAJ:MIN` record), that is not zram and
//! that has partition scanning enabled, in sysfs path order, each followed by its
//! `/dev` symlinks from the udev record (sorted; indented and grey on a terminal).
//! Without udev (containers, build chroots) nothing is printed.

use std::fs;
use std::path::{Path, PathBuf};

/// Where the kernel's and udev's views live (overridden by tests).
#[derive(Debug, Clone)]
pub struct Roots {
    /// `/sys/class/block`.
    pub sys_class_block: PathBuf,
    /// `/run/udev/data`.
    pub udev_data: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            sys_class_block: PathBuf::from("/sys/class/block"),
            udev_data: PathBuf::from("/run/udev/data"),
        }
    }
}

/// One listed device: its node and its symlinks (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `/dev/NAME`.
    pub node: String,
    /// `/dev/disk/by-…` links.
    pub symlinks: Vec<String>,
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_string())
}

fn uevent_value(uevent: &str, key: &str) -> Option<String> {
    uevent
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

/// Upstream's partition-scanning test on a sysfs device directory.
fn partscan_enabled(dir: &Path, uevent: &str) -> bool {
    if let Some(v) = read_trimmed(&dir.join("partscan")) {
        return v == "1";
    }
    if uevent_value(uevent, "DEVTYPE").as_deref() == Some("partition") {
        return false;
    }
    if read_trimmed(&dir.join("loop/partscan")).as_deref() == Some("0") {
        return false;
    }
    match read_trimmed(&dir.join("ext_range")).and_then(|v| v.parse::<i64>().ok()) {
        Some(r) if r > 1 => {}
        _ => return false,
    }
    match read_trimmed(&dir.join("capability")).and_then(|v| u32::from_str_radix(&v, 16).ok()) {
        Some(cap) => cap & (0x0200 | 0x0004) == 0,
        None => false,
    }
}

/// The devices to list, in upstream's order.
pub fn list(roots: &Roots) -> Vec<Device> {
    let Ok(entries) = fs::read_dir(&roots.sys_class_block) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, Device)> = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(uevent) = fs::read_to_string(dir.join("uevent")).ok() else {
            continue;
        };
        let (Some(major), Some(minor)) = (
            uevent_value(&uevent, "MAJOR"),
            uevent_value(&uevent, "MINOR"),
        ) else {
            continue;
        };
        // Only devices udev has processed ("initialized") are enumerated.
        let Ok(record) = fs::read_to_string(roots.udev_data.join(format!("b{major}:{minor}")))
        else {
            continue;
        };
        let Some(devname) = uevent_value(&uevent, "DEVNAME") else {
            continue;
        };
        if name.starts_with("zram") || !partscan_enabled(&dir, &uevent) {
            continue;
        }
        let mut symlinks: Vec<String> = record
            .lines()
            .filter_map(|l| l.strip_prefix("S:"))
            .map(|l| format!("/dev/{l}"))
            .collect();
        symlinks.sort();
        let syspath = fs::canonicalize(&dir).unwrap_or(dir);
        found.push((
            syspath,
            Device {
                node: format!("/dev/{devname}"),
                symlinks,
            },
        ));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.into_iter().map(|(_, d)| d).collect()
}

/// The text upstream prints for `devices`; `tty` indents the links, `grey` colors them.
pub fn render(devices: &[Device], tty: bool, grey: Option<&str>) -> String {
    let mut out = String::new();
    for d in devices {
        out.push_str(&d.node);
        out.push('\n');
        for l in &d.symlinks {
            if tty {
                out.push_str("    ");
            }
            match grey {
                Some(g) => out.push_str(&format!("{g}{l}\x1b[0m\n")),
                None => {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn lists_initialized_partitionable_disks_with_links() {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path().join("sys");
        let udev = t.path().join("udev");
        let disk = |name: &str, major: u32, minor: u32, extra: &[(&str, &str)]| {
            let dir = sys.join("devices/virtual/block").join(name);
            write(
                &dir.join("uevent"),
                &format!("MAJOR={major}\nMINOR={minor}\nDEVNAME={name}\nDEVTYPE=disk\n"),
            );
            for (f, v) in extra {
                write(&dir.join(f), v);
            }
            fs::create_dir_all(sys.join("class/block")).unwrap();
            std::os::unix::fs::symlink(&dir, sys.join("class/block").join(name)).unwrap();
        };
        disk("vdb", 254, 16, &[("partscan", "1\n")]);
        disk(
            "vda",
            254,
            0,
            &[("ext_range", "256\n"), ("capability", "0\n")],
        );
        disk("zram0", 252, 0, &[("partscan", "1\n")]);
        disk("loop0", 7, 0, &[("partscan", "0\n")]);
        disk("sdz", 8, 0, &[("partscan", "1\n")]); // no udev record: not initialized
        write(
            &udev.join("b254:0"),
            "S:disk/by-path/virtio-pci-0000:00:02.0\nS:disk/by-id/a\nE:ID_X=1\n",
        );
        write(&udev.join("b254:16"), "");
        write(&udev.join("b252:0"), "");
        write(&udev.join("b7:0"), "");
        let roots = Roots {
            sys_class_block: sys.join("class/block"),
            udev_data: udev,
        };
        let devices = list(&roots);
        assert_eq!(
            render(&devices, false, None),
            "/dev/vda\n/dev/disk/by-id/a\n/dev/disk/by-path/virtio-pci-0000:00:02.0\n/dev/vdb\n"
        );
        assert_eq!(
            render(&devices[..1], true, Some("G")),
            "/dev/vda\n    G/dev/disk/by-id/a\x1b[0m\n    G/dev/disk/by-path/virtio-pci-0000:00:02.0\x1b[0m\n"
        );
        let none = Roots {
            sys_class_block: t.path().join("missing"),
            udev_data: t.path().join("missing"),
        };
        assert!(list(&none).is_empty());
    }
}
