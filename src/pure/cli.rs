//! The command line: the option table ([`table`]), `argv` split into options in
//! command-line order ([`CommandLine`], by a `getopt_long` work-alike driven by the table,
//! with glibc's syntax rules and messages) and what they mean ([`Options`], applied in
//! order like upstream's `parse_argv`, with upstream's messages).
//!
//! Every value is taken as a string and interpreted in [`Options::resolve`] (systemd's
//! value rules: booleans spelled `yes/no/on/off/1/0`, sizes with `K/M/G`, `--json=help`). No I/O happens in this module: `--key-file=` is
//! read through [`ParseEnv`].

mod getopt;
mod help;
mod parse;
mod resolve;
pub mod table;

use std::path::PathBuf;

use uuid::Uuid;

pub use help::help_text;
pub use parse::{ArgOrder, CommandLine, Given, SyntaxError};
pub use resolve::{NoFiles, ParseEnv};

use crate::pure::security_args::PcrValue;
pub use crate::shell::signing::Secret;

/// `--empty=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptyMode {
    /// Require an existing GPT (default).
    #[default]
    Refuse,
    /// Create a GPT if there is no label.
    Allow,
    /// Require a disk without label.
    Require,
    /// Wipe whatever is there.
    Force,
    /// Create a new image file.
    Create,
}

impl EmptyMode {
    /// The `--empty=` word for this mode.
    pub fn name(self) -> &'static str {
        match self {
            EmptyMode::Refuse => "refuse",
            EmptyMode::Allow => "allow",
            EmptyMode::Require => "require",
            EmptyMode::Force => "force",
            EmptyMode::Create => "create",
        }
    }
}

/// `--json=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonMode {
    /// Table output.
    #[default]
    Off,
    /// Compact JSON.
    Short,
    /// Indented JSON.
    Pretty,
}

/// `--size=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRequest {
    /// As small as the partitions allow.
    Auto,
    /// Grow to this many bytes.
    Bytes(u64),
}

/// `--seed=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Seed {
    /// The machine ID.
    #[default]
    MachineId,
    /// A random seed.
    Random,
    /// This UUID.
    Fixed(Uuid),
}

/// What the run should do, after validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Print help and exit.
    pub help: bool,
    /// Print the version and exit.
    pub version: bool,
    /// `--json=help`: print the JSON modes and exit.
    pub json_help: bool,
    /// `--list-devices`: print the candidate block devices and exit.
    pub list_devices: bool,
    /// `--tpm2-device=list`: print the TPM2 devices and exit.
    pub list_tpm2_devices: bool,
    /// Only print the plan.
    pub dry_run: bool,
    /// `--empty=`.
    pub empty: EmptyMode,
    /// `--discard=`.
    pub discard: bool,
    /// `--size=`.
    pub size: Option<SizeRequest>,
    /// `--root=`, made absolute by the caller.
    pub root: Option<PathBuf>,
    /// `--seed=`.
    pub seed: Seed,
    /// `--pretty=` (`None` = not given, which still shows the table).
    pub pretty: Option<bool>,
    /// `--definitions=` directories (deduplicated, order kept).
    pub definitions: Vec<PathBuf>,
    /// `--make-ddi=` (or `-S`/`-C`/`-P`): the DDI type whose definition set is used.
    pub make_ddi: Option<String>,
    /// `--json=`.
    pub json: JsonMode,
    /// `--no-legend`.
    pub no_legend: bool,
    /// `--sector-size=`.
    pub sector_size: Option<u64>,
    /// `--architecture=` (systemd name).
    pub architecture: Option<&'static str>,
    /// `--offline=` (`None` = auto).
    pub offline: Option<bool>,
    /// `--include-partitions=`.
    pub include_partitions: Option<Vec<Uuid>>,
    /// `--exclude-partitions=`.
    pub exclude_partitions: Option<Vec<Uuid>>,
    /// `--copy-source=`.
    pub copy_source: Option<PathBuf>,
    /// `--split=`.
    pub split: bool,
    /// `--copy-from=` images, in order.
    pub copy_from: Vec<PathBuf>,
    /// `--factory-reset=` (`None` = not given: in the initrd, ask the kernel command
    /// line and the EFI variable).
    pub factory_reset: Option<bool>,
    /// `--can-factory-reset`.
    pub can_factory_reset: bool,
    /// `--generate-fstab=` (below the copy source).
    pub generate_fstab: Option<PathBuf>,
    /// `--generate-crypttab=` (below the copy source).
    pub generate_crypttab: Option<PathBuf>,
    /// `--defer-partitions=`: types planned but not written.
    pub defer_partitions: Vec<Uuid>,
    /// The device or image file, verbatim.
    pub node: Option<String>,
    /// `--key-file=` contents (for `Encrypt=key-file`; upstream uses an empty key without it).
    pub key_file: Option<Secret>,
    /// `--private-key=` as given (made absolute when loaded from a file).
    pub private_key: Option<String>,
    /// `--private-key-source=`.
    pub private_key_source: KeySource,
    /// `--certificate=` as given.
    pub certificate: Option<String>,
    /// `--certificate-source=`.
    pub certificate_source: KeySource,
    /// `--tpm2-device=` (`None` = auto).
    pub tpm2_device: Option<String>,
    /// `--tpm2-device-key=`.
    pub tpm2_device_key: Option<PathBuf>,
    /// `--tpm2-seal-key-handle=`.
    pub tpm2_seal_key_handle: Option<u32>,
    /// `--tpm2-pcrs=`, sorted by bank and index; `None` when never given (upstream then
    /// binds to PCR 7; an empty `--tpm2-pcrs=` binds to no PCR).
    pub tpm2_pcrs: Option<Vec<PcrValue>>,
    /// `--tpm2-public-key=`.
    pub tpm2_public_key: Option<PathBuf>,
    /// `--tpm2-public-key-pcrs=` as a mask (`None` = not given: upstream's default).
    pub tpm2_public_key_pcr_mask: Option<u32>,
    /// `--tpm2-pcrlock=` (not given: upstream's search for a policy).
    pub tpm2_pcrlock: crate::pure::tpm2::pcrlock::PcrlockChoice,
    /// `--image-policy=` (checked; it only matters with `--image=`).
    pub image_policy: Option<String>,
    /// The certificate's DER bytes, loaded by the caller after resolving.
    pub certificate_der: Option<Vec<u8>>,
    /// The private key's DER bytes, loaded by the caller after resolving.
    pub private_key_der: Option<Secret>,
}

/// Where `--private-key=` / `--certificate=` come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KeySource {
    /// A PEM file (the default).
    #[default]
    File,
    /// An OpenSSL engine (private keys only).
    Engine(String),
    /// An OpenSSL provider.
    Provider(String),
}

impl KeySource {
    /// `file`, `provider:NAME`, or (if `engine_allowed`) `engine:NAME`.
    fn parse(text: &str, engine_allowed: bool) -> Option<KeySource> {
        if text == "file" {
            return Some(KeySource::File);
        }
        if let Some(p) = text.strip_prefix("provider:") {
            return Some(KeySource::Provider(p.to_string()));
        }
        match text.strip_prefix("engine:") {
            Some(e) if engine_allowed => Some(KeySource::Engine(e.to_string())),
            _ => None,
        }
    }
}

/// A command-line problem; `message` is upstream's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// The message for stderr.
    pub message: String,
}

/// Why the command line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A bad value or combination (upstream logs it as an error).
    #[error(transparent)]
    Invalid(#[from] CliError),
    /// A syntax error, which glibc's getopt_long writes to stderr as `ARGV0: MESSAGE`.
    #[error(transparent)]
    Syntax(SyntaxError),
}

fn err<T>(message: impl Into<String>) -> Result<T, CliError> {
    Err(CliError {
        message: message.into(),
    })
}

fn not_supported<T>(option: &str) -> Result<T, CliError> {
    err(format!(
        "{option} is not supported yet by this repart (see README: supported features)."
    ))
}

/// The systemd release whose behaviour repart reproduces (the oracle is 257.13).
const SYSTEMD_VERSION: &str = "257";
/// The full upstream version we track, as upstream prints it in parentheses.
const SYSTEMD_FULL_VERSION: &str = "257.13";

/// Our `--version` text: upstream's shape (`systemd 257 (FULL)` and a feature line), so
/// that tools which read the version from it (mkosi takes the third word of the output
/// with the parentheses stripped, and compares it as a systemd version) see 257.13;
/// `+repart…` in the parenthesised word and the `REPART` feature keep our identity
/// visible. Features are `+` only where repart provides that capability itself.
pub fn version_text() -> String {
    let features = [
        "-PAM",
        "-AUDIT",
        "-SELINUX",
        "-APPARMOR",
        "-IMA",
        "-IPE",
        "-SMACK",
        "-SECCOMP",
        "-GCRYPT",
        "-GNUTLS",
        "-OPENSSL",
        "-ACL",
        "+BLKID",
        "-CURL",
        "-ELFUTILS",
        "-FIDO2",
        "-IDN2",
        "-IDN",
        "-IPTC",
        "-KMOD",
        "-LIBCRYPTSETUP",
        "-LIBCRYPTSETUP_PLUGINS",
        "+LIBFDISK",
        "-PCRE2",
        "-PWQUALITY",
        "-P11KIT",
        "-QRENCODE",
        "-TPM2",
        "-BZIP2",
        "-LZ4",
        "-XZ",
        "-ZLIB",
        "-ZSTD",
        "-BPF_FRAMEWORK",
        "-BTF",
        "-XKBCOMMON",
        "-UTMP",
        "-SYSVINIT",
        "-LIBARCHIVE",
        "+REPART",
    ];
    format!(
        "systemd {SYSTEMD_VERSION} ({SYSTEMD_FULL_VERSION}+repart{})\n{}\n",
        env!("CARGO_PKG_VERSION"),
        features.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(argv: &[&str]) -> CommandLine {
        CommandLine::parse_from(std::iter::once("repart").chain(argv.iter().copied()))
    }

    fn invalid(e: ResolveError) -> CliError {
        match e {
            ResolveError::Invalid(e) => e,
            ResolveError::Syntax(e) => panic!("syntax error: {e}"),
        }
    }

    fn resolve(argv: &[&str]) -> Result<Options, CliError> {
        Options::resolve(&line(argv)).map_err(invalid)
    }

    fn error(argv: &[&str]) -> String {
        resolve(argv).unwrap_err().message
    }

    #[test]
    fn both_option_forms_and_last_wins() {
        let o = resolve(&["--empty", "allow", "--empty=force", "x.raw"]).unwrap();
        assert_eq!(o.empty, EmptyMode::Force);
        let o = resolve(&["--dry-run", "no", "--definitions=a", "--definitions", "b"]).unwrap();
        assert!(!o.dry_run);
        assert_eq!(o.definitions, vec![PathBuf::from("a"), PathBuf::from("b")]);
    }

    #[test]
    fn create_implies_no_dry_run_and_needs_size() {
        let o = resolve(&["--empty=create", "--size=auto", "i.raw"]).unwrap();
        assert!(!o.dry_run);
        assert_eq!(o.size, Some(SizeRequest::Auto));
        // Upstream 257 writes the new image even when a dry run is asked for.
        for args in [
            ["--empty=create", "--dry-run=yes", "--size=1M", "i.raw"],
            ["--dry-run=yes", "--empty=create", "--size=1M", "i.raw"],
        ] {
            assert!(!resolve(&args).unwrap().dry_run);
        }
        assert_eq!(
            resolve(&["--empty=create", "i.raw"]).unwrap_err().message,
            "If --empty=create is specified, --size= must be specified, too."
        );
    }

    #[test]
    fn upstream_messages_for_bad_values() {
        // Each message was observed from systemd-repart 257.
        let cases: [(&[&str], &str); 6] = [
            (
                &["--empty=bogus"],
                "Failed to parse --empty= parameter: bogus",
            ),
            (&["--size=abc"], "Failed to parse --size= parameter: abc"),
            (&["--size=0"], "Specified image size too small, refusing."),
            (
                &["--dry-run=maybe"],
                "Failed to parse boolean argument to --dry-run=: maybe.",
            ),
            (&["--json=foo"], "Unknown argument to --json= switch: foo"),
            (&["--sector-size=1000"], "Sector size not power of 2: 1000"),
        ];
        for (argv, msg) in cases {
            assert_eq!(resolve(argv).unwrap_err().message, msg, "{argv:?}");
        }
        assert_eq!(
            resolve(&["a", "b"]).unwrap_err().message,
            "Expected at most one argument, the path to the block device or image file."
        );
        assert_eq!(
            resolve(&["--seed=xyz"]).unwrap_err().message,
            "Failed to parse seed: xyz"
        );
    }

    #[test]
    fn make_ddi_implies_a_created_auto_sized_image() {
        let mut env = NoFiles::default();
        let argv = ["-S", "--copy-source=t", "--dry-run=yes", "x.raw"];
        let o = Options::resolve_with(&line(&argv), &mut env).unwrap();
        assert_eq!(o.make_ddi.as_deref(), Some("sysext"));
        assert_eq!(
            (o.empty, o.size, o.dry_run, o.seed),
            (
                EmptyMode::Create,
                Some(SizeRequest::Auto),
                false,
                Seed::Random
            )
        );
        assert_eq!(env.notices.len(), 1, "the randomized-seed notice");
        let mut env = NoFiles::default();
        let argv = [
            "--make-ddi=portable",
            "-s",
            "t",
            "--size=1G",
            "--seed=random",
            "x",
        ];
        let o = Options::resolve_with(&line(&argv), &mut env).unwrap();
        assert_eq!(o.size, Some(SizeRequest::Bytes(1 << 30)));
        assert!(env.notices.is_empty());
        // The last request wins, as upstream.
        let o = resolve(&["-C", "--make-ddi=portable", "-S", "-s", "t", "x"]).unwrap();
        assert_eq!(o.make_ddi.as_deref(), Some("sysext"));
        let o = resolve(&["-S", "--make-ddi=mine", "-s", "t", "x"]).unwrap();
        assert_eq!(o.make_ddi.as_deref(), Some("mine"));
    }

    #[test]
    fn make_ddi_errors_in_upstreams_order() {
        let mut env = NoFiles::default();
        let e = invalid(
            Options::resolve_with(&line(&["-P", "--copy-source=t"]), &mut env).unwrap_err(),
        );
        assert!(
            e.message
                .starts_with("A path to a device node or image file")
        );
        assert_eq!(env.notices.len(), 1, "the seed notice comes first");
        let e = resolve(&["--make-ddi=a/b", "x"]).unwrap_err();
        assert_eq!(e.message, "Invalid DDI type: a/b");
        let e = resolve(&["-S", "--empty=allow", "-s", "t", "x"]).unwrap_err();
        assert_eq!(
            e.message,
            "Combination of --make-ddi= and --empty=allow is not supported."
        );
        let e = resolve(&["-S", "--definitions=d", "x"]).unwrap_err();
        assert_eq!(
            e.message,
            "Combination of --make-ddi= and --definitions= is not supported."
        );
        let e = resolve(&["-S", "x"]).unwrap_err();
        assert_eq!(e.message, "No --copy-source= specified, refusing.");
    }

    #[test]
    fn size_rounding_notice_comes_before_a_later_error() {
        let notice =
            "Specified size is not a multiple of 4096, rounding up automatically. (5000 → 8192)";
        let mut env = NoFiles::default();
        let o = Options::resolve_with(&line(&["--size=5000"]), &mut env).unwrap();
        assert_eq!(o.size, Some(SizeRequest::Bytes(8192)));
        assert_eq!(env.notices, vec![notice]);
        // Observed from upstream: the first --size= is applied (with its notice) before
        // the second fails.
        let mut env = NoFiles::default();
        let e = Options::resolve_with(&line(&["--size=5000", "--size=foo"]), &mut env);
        assert_eq!(
            invalid(e.unwrap_err()).message,
            "Failed to parse --size= parameter: foo"
        );
        assert_eq!(env.notices, vec![notice]);
    }

    #[test]
    fn a_syntax_error_counts_where_getopt_reaches_it() {
        let syntax = |argv: &[&str]| match Options::resolve(&line(argv)) {
            Err(ResolveError::Syntax(e)) => e.to_string(),
            other => panic!("{argv:?}: {other:?}"),
        };
        let mut env = NoFiles::default();
        let e = Options::resolve_with(&line(&["--size=5000", "--foo", "--size=x"]), &mut env);
        assert_eq!(
            e.unwrap_err(),
            ResolveError::Syntax(SyntaxError::UnknownLong("foo".into()))
        );
        assert_eq!(env.notices.len(), 1, "the earlier --size= is applied first");
        assert_eq!(
            error(&["--size=x", "--foo"]),
            "Failed to parse --size= parameter: x"
        );
        assert!(resolve(&["-hx"]).unwrap().help);
        assert!(resolve(&["--json=help", "--foo"]).unwrap().json_help);
        // Before the checks after the last option.
        assert_eq!(syntax(&["a", "b", "-x"]), "invalid option -- 'x'");
        assert_eq!(
            syntax(&["--empty=create", "-s"]),
            "option requires an argument -- 's'"
        );
    }

    /// Upstream handles each option in command-line order: of two bad values the first
    /// is reported, whatever the options (each pair observed from systemd-repart 257.13).
    #[test]
    fn first_bad_option_on_the_command_line_is_reported() {
        let size = "Failed to parse --size= parameter: foo";
        let empty = "Failed to parse --empty= parameter: bar";
        assert_eq!(error(&["--size=foo", "--empty=bar"]), size);
        assert_eq!(error(&["--empty=bar", "--size=foo"]), empty);
        assert_eq!(error(&["--seed=x", "--json=y"]), "Failed to parse seed: x");
        assert_eq!(
            error(&["--architecture=foo", "--sector-size=3"]),
            "Invalid architecture 'foo'."
        );
        assert_eq!(
            error(&["--certificate-source=y", "--private-key-source=x"]),
            "Invalid certificate source 'y'"
        );
        assert_eq!(
            error(&["--tpm2-pcrs=x", "--tpm2-seal-key-handle=y"]),
            "Could not parse PCR values from 'x': Invalid argument"
        );
        assert_eq!(
            error(&["--split=yy", "--image-policy=xx"]),
            "Failed to parse boolean argument to --split=: yy."
        );
        // An earlier bad value is not hidden by a later good one.
        assert_eq!(error(&["--size=foo", "--size=4096"]), size);
        assert_eq!(error(&["--empty=bar", "--empty=allow"]), empty);
        // --help and friends end parsing where they stand.
        assert_eq!(error(&["--size=foo", "--help"]), size);
        assert!(resolve(&["--help", "--size=foo"]).unwrap().help);
        assert_eq!(error(&["--size=foo", "--version"]), size);
        assert_eq!(error(&["--size=foo", "--json=help"]), size);
        assert!(resolve(&["--json=help", "--size=foo"]).unwrap().json_help);
        assert!(
            resolve(&["--list-devices", "--size=foo"])
                .unwrap()
                .list_devices
        );
        // The type lists are checked as they come; the other kind of list is refused
        // before its value is looked at.
        let combination =
            "Combination of --include-partitions= and --exclude-partitions= is invalid.";
        assert_eq!(
            error(&["--include-partitions=zz", "--exclude-partitions=yy"]),
            "'zz' is not a valid partition type identifier or GUID"
        );
        assert_eq!(
            error(&["--include-partitions=esp", "--exclude-partitions=yy"]),
            combination
        );
        assert_eq!(
            error(&["--defer-partitions=yy", "--include-partitions=zz"]),
            "'yy' is not a valid partition type identifier or GUID"
        );
        // The positional count is checked after the last option, before anything else.
        assert_eq!(
            error(&["--image=x", "a", "b"]),
            "Expected at most one argument, the path to the block device or image file."
        );
        assert_eq!(
            error(&["--make-ddi=/", "--size=foo"]),
            "Invalid DDI type: /"
        );
        assert_eq!(
            error(&["--image=x", "--empty=create"]),
            "If --empty=create is specified, --size= must be specified, too."
        );
    }

    /// Observed from upstream: the sector size is read like systemd's safe_atou64().
    #[test]
    fn sector_size_numbers() {
        assert_eq!(
            resolve(&["--sector-size=0x1000"]).unwrap().sector_size,
            Some(4096)
        );
        assert_eq!(
            resolve(&["--sector-size= 512"]).unwrap().sector_size,
            Some(512)
        );
        assert_eq!(
            error(&["--sector-size=0512"]),
            "Sector size not between 512 and 4096: 0512"
        );
        for bad in ["foo", "", "512 ", "-512", "0x", "4096.0"] {
            assert_eq!(
                error(&[&format!("--sector-size={bad}")]),
                format!("Failed to parse sector size parameter {bad}")
            );
        }
    }

    #[test]
    fn empty_type_list_entries_are_refused() {
        for list in ["", "esp,", "esp,,root", ",esp"] {
            for option in ["include", "exclude", "defer"] {
                let arg = format!("--{option}-partitions={list}");
                assert_eq!(
                    error(&[&arg]),
                    "'' is not a valid partition type identifier or GUID",
                    "{arg}"
                );
            }
        }
    }

    #[test]
    fn type_lists_add_up_and_the_architecture_applies_to_all() {
        let o = resolve(&[
            "--include-partitions=esp",
            "--include-partitions=root",
            "--defer-partitions=usr",
            "--architecture=arm64",
            "--defer-partitions=home",
        ])
        .unwrap();
        let uuid = |name: &str| {
            crate::pure::gpt_types::PartitionType::parse(name)
                .unwrap()
                .with_architecture("arm64")
                .uuid
        };
        assert_eq!(o.include_partitions, Some(vec![uuid("esp"), uuid("root")]));
        assert_eq!(o.defer_partitions, vec![uuid("usr"), uuid("home")]);
    }

    /// mkosi's `systemd_tool_version()`: the third whitespace-separated word of the
    /// `--version` output, parentheses stripped, compared as a systemd version (it
    /// refuses repart below 254 for disk builds, and enables features from 257 on).
    fn mkosi_tool_version(output: &str) -> String {
        let word = output.split_whitespace().nth(2).unwrap_or("");
        word.trim_matches(|c| c == '(' || c == ')').to_string()
    }

    /// The leading numeric fields of a version (`257.13+repart0.1.0` → [257, 13]), which
    /// is what decides systemd's version comparison against plain releases like `257`.
    fn numeric_prefix(version: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for part in version.split('.') {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                break;
            }
            out.push(digits.parse().unwrap());
            if digits.len() != part.len() {
                break;
            }
        }
        out
    }

    #[test]
    fn version_passes_mkosi_check() {
        let text = version_text();
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("systemd 257 ("), "{first}");
        assert!(
            first.contains("repart"),
            "our identity stays visible: {first}"
        );
        let v = mkosi_tool_version(&text);
        let nums = numeric_prefix(&v);
        assert!(nums >= vec![257], "mkosi would read {v:?} as {nums:?}");
        assert!(nums > vec![254], "{v}");
        // The upstream output has exactly two lines; the second lists features.
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .split(' ')
                .all(|f| f.starts_with(['+', '-']))
        );
        // The old text failed the check: "repart" is not a version.
        assert!(numeric_prefix(&mkosi_tool_version("systemd 257 (repart 0.1.0)")).is_empty());
    }
}
