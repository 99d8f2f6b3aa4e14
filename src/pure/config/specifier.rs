//! `%x` specifier expansion (spec §3) from an injected [`SystemInfo`]: the "system +
//! tmp" table used by repart.d keys and the `SplitName=` table.
//!
//! Pure: the facts about the host come in as data; [`SystemInfo::from_host`] (in
//! `system.rs`) is the only place that reads them.

/// Longest expanded `Label=` in bytes (GPT_LABEL_MAX).
pub const LABEL_MAX: usize = 36;
/// Longest expanded path (PATH_MAX - 1).
pub const PATH_MAX: usize = 4095;
/// Longest expanded `SplitName=` (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Fields of os-release used by specifiers (`None` = field absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `IMAGE_VERSION=` (`%A`).
    pub image_version: Option<String>,
    /// `BUILD_ID=` (`%B`).
    pub build_id: Option<String>,
    /// `IMAGE_ID=` (`%M`).
    pub image_id: Option<String>,
    /// `ID=` (`%o`).
    pub id: Option<String>,
    /// `VERSION_ID=` (`%w`).
    pub version_id: Option<String>,
    /// `VARIANT_ID=` (`%W`).
    pub variant_id: Option<String>,
}

/// Everything specifiers can refer to, gathered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemInfo {
    /// Machine ID of the root (`%m`), 32 lowercase hex chars; `None` if missing.
    pub machine_id: Option<String>,
    /// Boot ID of the running system (`%b`); `None` if unavailable.
    pub boot_id: Option<String>,
    /// Hostname (`%H`).
    pub hostname: String,
    /// Short hostname, up to the first dot (`%l`).
    pub short_hostname: String,
    /// Pretty hostname from machine-info (`%q`, falls back to the short hostname).
    pub pretty_hostname: Option<String>,
    /// os-release of the root; `None` if neither file exists (then `%A %B %M %o %w %W` fail).
    pub os_release: Option<OsRelease>,
    /// Kernel architecture as a systemd name (`%a`), e.g. `x86-64`.
    pub kernel_arch: String,
    /// Kernel release (`%v`).
    pub kernel_release: String,
    /// Temporary directory (`%T`).
    pub tmp_dir: String,
    /// Persistent temporary directory (`%V`).
    pub var_tmp_dir: String,
}

/// Why an expansion failed (texts are the errno strings upstream would print).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecifierError {
    /// `%X` with an unknown alphanumeric `X` (EBADSLT).
    #[error("Invalid slot")]
    Unknown(char),
    /// The result exceeds the length limit (ENAMETOOLONG).
    #[error("File name too long")]
    TooLong,
    /// The specifier's source is missing (no machine-id, no os-release, no boot id).
    #[error("Protocol driver not attached")]
    Unavailable(char),
}

/// Values of the `SplitName=` table that are not system facts (spec §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitInfo {
    /// `%t`: canonical type name, or the type UUID string if unknown.
    pub type_name: String,
    /// `%T`: type UUID, 32 hex chars.
    pub type_uuid: String,
    /// `%U`: partition UUID, 32 hex chars.
    pub partition_uuid: String,
    /// `%n`: partition number, zero-based.
    pub partno: u64,
}

fn os_field(
    sys: &SystemInfo,
    c: char,
    f: fn(&OsRelease) -> &Option<String>,
) -> Result<String, SpecifierError> {
    match &sys.os_release {
        Some(os) => Ok(f(os).clone().unwrap_or_default()),
        None => Err(SpecifierError::Unavailable(c)),
    }
}

/// Resolves one specifier of the "system" part of the tables.
fn system_specifier(sys: &SystemInfo, c: char) -> Option<Result<String, SpecifierError>> {
    let value = match c {
        'a' => Ok(sys.kernel_arch.clone()),
        'A' => os_field(sys, c, |o| &o.image_version),
        'b' => sys.boot_id.clone().ok_or(SpecifierError::Unavailable(c)),
        'B' => os_field(sys, c, |o| &o.build_id),
        'H' => Ok(sys.hostname.clone()),
        'l' => Ok(sys.short_hostname.clone()),
        'q' => Ok(sys
            .pretty_hostname
            .clone()
            .unwrap_or_else(|| sys.short_hostname.clone())),
        'm' => sys.machine_id.clone().ok_or(SpecifierError::Unavailable(c)),
        'M' => os_field(sys, c, |o| &o.image_id),
        'o' => os_field(sys, c, |o| &o.id),
        'v' => Ok(sys.kernel_release.clone()),
        'w' => os_field(sys, c, |o| &o.version_id),
        'W' => os_field(sys, c, |o| &o.variant_id),
        _ => return None,
    };
    Some(value)
}

/// Core of upstream's `specifier_printf()` over a lookup function.
fn expand_with(
    text: &str,
    max_len: usize,
    lookup: impl Fn(char) -> Option<Result<String, SpecifierError>>,
) -> Result<String, SpecifierError> {
    // Fast path (thousands of CopyFiles= lines): nothing to expand.
    if !text.contains('%') {
        if text.len() > max_len {
            return Err(SpecifierError::TooLong);
        }
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut percent = false;
    for c in text.chars() {
        if percent {
            percent = false;
            if c == '%' {
                out.push('%');
            } else if let Some(value) = lookup(c) {
                out.push_str(&value?);
            } else if c.is_ascii_alphanumeric() {
                return Err(SpecifierError::Unknown(c));
            } else {
                out.push('%');
                out.push(c);
            }
        } else if c == '%' {
            percent = true;
        } else {
            out.push(c);
        }
        if out.len() > max_len {
            return Err(SpecifierError::TooLong);
        }
    }
    if percent {
        out.push('%');
    }
    if out.len() > max_len {
        return Err(SpecifierError::TooLong);
    }
    Ok(out)
}

/// Expands the "system + tmp" table (Label=, CopyFiles=, CopyBlocks=, …), failing when
/// the result is longer than `max_len` bytes.
pub fn expand(text: &str, max_len: usize, sys: &SystemInfo) -> Result<String, SpecifierError> {
    expand_with(text, max_len, |c| match c {
        'T' => Some(Ok(sys.tmp_dir.clone())),
        'V' => Some(Ok(sys.var_tmp_dir.clone())),
        other => system_specifier(sys, other),
    })
}

/// Expands a `SplitName=` template (max [`NAME_MAX`]): `%t %T %U %n` plus the system
/// table; `%V` is unknown there and `%T` is the type UUID.
pub fn expand_split_name(
    text: &str,
    split: &SplitInfo,
    sys: &SystemInfo,
) -> Result<String, SpecifierError> {
    expand_with(text, NAME_MAX, |c| match c {
        't' => Some(Ok(split.type_name.clone())),
        'T' => Some(Ok(split.type_uuid.clone())),
        'U' => Some(Ok(split.partition_uuid.clone())),
        'n' => Some(Ok(split.partno.to_string())),
        other => system_specifier(sys, other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys() -> SystemInfo {
        SystemInfo {
            machine_id: Some("0123456789abcdef0123456789abcdef".into()),
            boot_id: Some("fedcba9876543210fedcba9876543210".into()),
            hostname: "host.example.com".into(),
            short_hostname: "host".into(),
            pretty_hostname: None,
            os_release: Some(OsRelease {
                image_version: Some("1.2".into()),
                build_id: Some("b7".into()),
                image_id: Some("img".into()),
                id: Some("debian".into()),
                version_id: Some("13".into()),
                variant_id: None,
            }),
            kernel_arch: "x86-64".into(),
            kernel_release: "6.18.44-fc".into(),
            tmp_dir: "/tmp".into(),
            var_tmp_dir: "/var/tmp".into(),
        }
    }

    #[test]
    fn expands_every_system_specifier() {
        let s = sys();
        let e = |t: &str| expand(t, PATH_MAX, &s);
        assert_eq!(e("%a").unwrap(), "x86-64");
        assert_eq!(e("%A-%B-%M-%o-%w-[%W]").unwrap(), "1.2-b7-img-debian-13-[]");
        assert_eq!(e("%b").unwrap(), "fedcba9876543210fedcba9876543210");
        assert_eq!(e("%H %l %q").unwrap(), "host.example.com host host");
        assert_eq!(e("%m").unwrap(), "0123456789abcdef0123456789abcdef");
        assert_eq!(e("%T%V%v").unwrap(), "/tmp/var/tmp6.18.44-fc");
        let mut pretty = sys();
        pretty.pretty_hostname = Some("My Host".into());
        assert_eq!(expand("%q", PATH_MAX, &pretty).unwrap(), "My Host");
    }

    #[test]
    fn percent_rules() {
        let s = sys();
        let e = |t: &str| expand(t, LABEL_MAX, &s);
        assert_eq!(e("ok %%").unwrap(), "ok %");
        assert_eq!(e("abc%").unwrap(), "abc%");
        assert_eq!(e("a%!b").unwrap(), "a%!b");
        assert_eq!(e("%z"), Err(SpecifierError::Unknown('z')));
        assert_eq!(e("a%!b%1"), Err(SpecifierError::Unknown('1')));
        assert_eq!(e("%%%y"), Err(SpecifierError::Unknown('y')));
    }

    #[test]
    fn length_limit_is_bytes() {
        let s = sys();
        assert!(expand(&"a".repeat(36), LABEL_MAX, &s).is_ok());
        assert_eq!(
            expand(&"a".repeat(37), LABEL_MAX, &s),
            Err(SpecifierError::TooLong)
        );
        assert_eq!(
            expand(&"ä".repeat(19), LABEL_MAX, &s),
            Err(SpecifierError::TooLong)
        );
        assert_eq!(
            expand("%a-%m-xx", LABEL_MAX, &s),
            Err(SpecifierError::TooLong)
        );
    }

    #[test]
    fn missing_sources_fail() {
        let mut s = sys();
        s.machine_id = None;
        s.os_release = None;
        s.boot_id = None;
        assert_eq!(expand("%m", 99, &s), Err(SpecifierError::Unavailable('m')));
        assert_eq!(expand("%A", 99, &s), Err(SpecifierError::Unavailable('A')));
        assert_eq!(expand("%b", 99, &s), Err(SpecifierError::Unavailable('b')));
        assert_eq!(expand("%a", 99, &s).unwrap(), "x86-64");
    }

    #[test]
    fn split_name_table() {
        let split = SplitInfo {
            type_name: "root-x86-64".into(),
            type_uuid: "4f68bce3e8cd4db196e7fbcaf984b709".into(),
            partition_uuid: "00112233445566778899aabbccddeeff".into(),
            partno: 0,
        };
        let s = sys();
        assert_eq!(
            expand_split_name("%t.%n.%U.%T.%a", &split, &s).unwrap(),
            "root-x86-64.0.00112233445566778899aabbccddeeff.4f68bce3e8cd4db196e7fbcaf984b709.x86-64"
        );
        assert_eq!(
            expand_split_name("%V", &split, &s),
            Err(SpecifierError::Unknown('V'))
        );
    }
}
