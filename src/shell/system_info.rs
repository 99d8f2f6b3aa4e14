//! Gathers [`SystemInfo`] (the facts specifiers expand to) from the running host and
//! the `--root=` directory.
//!
//! This is the only I/O of the specifier machinery: machine-id and os-release are read
//! under the root; boot id, hostname, uname and `$TMPDIR` come from the host.

use std::path::Path;

use crate::pure::config::specifier::{OsRelease, SystemInfo};

impl SystemInfo {
    /// Reads the host's facts; `root` is `--root=` (or the image mount point), if any;
    /// `env_tmp` are `$TMPDIR`, `$TEMP` and `$TMP` (read once with the environment).
    pub fn from_host(root: Option<&Path>, env_tmp: &[Option<String>; 3]) -> SystemInfo {
        // Upstream reads these with chase below the root: symlinks resolve inside it.
        let under_root = |p: &str| match root {
            Some(_) => crate::shell::root_paths::chase(root, p),
            None => Path::new(p).to_path_buf(),
        };
        let machine_id = std::fs::read_to_string(under_root("/etc/machine-id"))
            .ok()
            .and_then(|s| normalize_id(s.trim()));
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .and_then(|s| normalize_id(s.trim()));
        let uts = uname();
        let hostname = uts
            .as_ref()
            .map(|u| u.nodename.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        let short_hostname = hostname.split('.').next().unwrap_or_default().to_string();
        let pretty_hostname = std::fs::read_to_string("/etc/machine-info")
            .ok()
            .and_then(|s| env_file_value(&s, "PRETTY_HOSTNAME"))
            .filter(|v| !v.is_empty());
        let os_release = std::fs::read_to_string(under_root("/etc/os-release"))
            .or_else(|_| std::fs::read_to_string(under_root("/usr/lib/os-release")))
            .ok()
            .map(|s| parse_os_release(&s));
        // Upstream uses the first of these that is an absolute, normalized path of an
        // existing directory (a relative or missing one is skipped), else the default.
        let env_tmp = || {
            env_tmp
                .iter()
                .flatten()
                .find(|value| {
                    let normalized =
                        !value.contains("//") && !value.split('/').any(|c| c == "." || c == "..");
                    value.starts_with('/') && normalized && Path::new(value).is_dir()
                })
                .cloned()
        };
        let (tmp_dir, var_tmp_dir) = if root.is_some() {
            ("/tmp".to_string(), "/var/tmp".to_string())
        } else {
            (
                env_tmp().unwrap_or_else(|| "/tmp".to_string()),
                env_tmp().unwrap_or_else(|| "/var/tmp".to_string()),
            )
        };
        SystemInfo {
            machine_id,
            boot_id,
            hostname,
            short_hostname,
            pretty_hostname,
            os_release,
            kernel_arch: uts
                .as_ref()
                .map(|u| kernel_arch_name(&u.machine))
                .unwrap_or_default(),
            kernel_release: uts.map(|u| u.release).unwrap_or_default(),
            tmp_dir,
            var_tmp_dir,
        }
    }
}

/// A 128-bit id in either syntax → 32 lowercase hex chars.
fn normalize_id(text: &str) -> Option<String> {
    crate::pure::gpt_types::parse_id128(text).map(|u| u.simple().to_string())
}

struct Uname {
    nodename: String,
    release: String,
    machine: String,
}

fn uname() -> Option<Uname> {
    // SAFETY: `utsname` is plain old data; uname() fills it and we only read
    // NUL-terminated fields afterwards.
    let mut buf: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `buf` is a valid, writable utsname.
    if unsafe { libc::uname(&mut buf) } != 0 {
        return None;
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Some(Uname {
        nodename: field(&buf.nodename),
        release: field(&buf.release),
        machine: field(&buf.machine),
    })
}

/// Maps a `uname -m` value to systemd's architecture name (`x86_64` → `x86-64`).
pub fn kernel_arch_name(machine: &str) -> String {
    let name = match machine {
        "x86_64" => "x86-64",
        "i386" | "i486" | "i586" | "i686" => "x86",
        "aarch64" => "arm64",
        "aarch64_be" => "arm64-be",
        "ppc64le" => "ppc64-le",
        "ppc64" => "ppc64",
        "ppcle" => "ppc-le",
        "ppc" => "ppc",
        "s390x" => "s390x",
        "s390" => "s390",
        "sparc64" => "sparc64",
        "sparc" => "sparc",
        "mips64" => "mips64",
        "mips" => "mips",
        "parisc64" => "parisc64",
        "parisc" => "parisc",
        "riscv64" => "riscv64",
        "riscv32" => "riscv32",
        "loongarch64" => "loongarch64",
        "arceb" => "arc-be",
        "arc" => "arc",
        m if m.starts_with("arm") && m.ends_with('b') => "arm-be",
        m if m.starts_with("arm") => "arm",
        m if m.starts_with("sh64") => "sh64",
        m if m.starts_with("sh") => "sh",
        other => other,
    };
    name.to_string()
}

/// The value of `key` in an env-style file (`KEY=value`, optional quotes).
fn env_file_value(text: &str, key: &str) -> Option<String> {
    text.lines().rev().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        (k.trim() == key).then(|| unquote(v.trim()))
    })
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.replace("\\\"", "\"").replace("\\\\", "\\");
        }
    }
    v.to_string()
}

/// Extracts the os-release fields specifiers use.
pub fn parse_os_release(text: &str) -> OsRelease {
    let get = |k: &str| env_file_value(text, k);
    OsRelease {
        image_version: get("IMAGE_VERSION"),
        build_id: get("BUILD_ID"),
        image_id: get("IMAGE_ID"),
        id: get("ID"),
        version_id: get("VERSION_ID"),
        variant_id: get("VARIANT_ID"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_fields() {
        let os = parse_os_release("ID=debian\nVERSION_ID=\"13\"\n# x\nIMAGE_ID='img'\n");
        assert_eq!(os.id.as_deref(), Some("debian"));
        assert_eq!(os.version_id.as_deref(), Some("13"));
        assert_eq!(os.image_id.as_deref(), Some("img"));
        assert_eq!(os.build_id, None);
    }

    #[test]
    fn arch_names() {
        assert_eq!(kernel_arch_name("x86_64"), "x86-64");
        assert_eq!(kernel_arch_name("i686"), "x86");
        assert_eq!(kernel_arch_name("aarch64"), "arm64");
        assert_eq!(kernel_arch_name("armv7l"), "arm");
        assert_eq!(kernel_arch_name("ppc64le"), "ppc64-le");
    }

    #[test]
    fn ids_are_normalized() {
        assert_eq!(
            normalize_id("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709").as_deref(),
            Some("4f68bce3e8cd4db196e7fbcaf984b709")
        );
        assert_eq!(normalize_id("nope"), None);
    }

    #[test]
    fn reads_root_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/machine-id"),
            "0123456789ABCDEF0123456789abcdef\n",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        std::fs::write(dir.path().join("usr/lib/os-release"), "ID=test\n").unwrap();
        let sys = SystemInfo::from_host(Some(dir.path()), &[None, None, None]);
        assert_eq!(
            sys.machine_id.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(sys.os_release.unwrap().id.as_deref(), Some("test"));
        assert_eq!(sys.tmp_dir, "/tmp");
        assert_eq!(sys.var_tmp_dir, "/var/tmp");
    }
}
