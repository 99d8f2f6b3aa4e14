//! The option table: the one place that says which options exist, how they are spelled,
//! whether they take a value, and how `--help` lists them.
//!
//! The `getopt_long` work-alike that splits `argv` ([`super::CommandLine`]), the `--help` text
//! ([`super::help_text`]) and the check against `man/repart.8` (a unit test) are all derived
//! from [`OPTIONS`]; the meaning of each value is in [`super::Options::resolve`], which
//! matches on [`Opt`] exhaustively, so an option added here without a meaning does not
//! compile.

/// One command-line option (what it is, independent of its spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the option of the same name; see OPTIONS.
pub enum Opt {
    Help,
    Version,
    NoPager,
    NoLegend,
    Json,
    DryRun,
    Empty,
    Discard,
    FactoryReset,
    CanFactoryReset,
    Size,
    Root,
    Seed,
    Pretty,
    Definitions,
    SectorSize,
    Architecture,
    Offline,
    IncludePartitions,
    ExcludePartitions,
    CopySource,
    CopyFrom,
    Split,
    GenerateFstab,
    GenerateCrypttab,
    DeferPartitions,
    ListDevices,
    KeyFile,
    PrivateKey,
    PrivateKeySource,
    Certificate,
    CertificateSource,
    Tpm2Device,
    Tpm2DeviceKey,
    Tpm2SealKeyHandle,
    Tpm2Pcrs,
    Tpm2PublicKey,
    Tpm2PublicKeyPcrs,
    Tpm2Pcrlock,
    ImagePolicy,
    Image,
    MakeDdi,
    Sysext,
    Confext,
    Portable,
}

/// How `--help` shows an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Help {
    /// `usage` (e.g. `--json=pretty|short|off|help`) and a description in the second
    /// column (on the next line when `usage` does not fit the first).
    Line {
        /// The option as typed, with its value's shape.
        usage: &'static str,
        /// What it does.
        text: &'static str,
    },
    /// Only the usage, on a line of its own (the value's shape says it all).
    Usage(&'static str),
    /// Part of a comma-separated run of usages that shares the description of the
    /// [`Help::Line`] ending the run; `break_after` ends the output line after it.
    Run {
        /// The option as typed, with its value's shape.
        usage: &'static str,
        /// Whether the run continues on a new line after this usage.
        break_after: bool,
    },
    /// Not listed: the options repart does not support yet, named in the help's footer.
    Unsupported,
}

/// An entry of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Which option.
    pub opt: Opt,
    /// `--NAME` (without the dashes).
    pub long: Option<&'static str>,
    /// `-C`.
    pub short: Option<char>,
    /// Whether the option takes a value (`--NAME=VALUE` or `--NAME VALUE`).
    pub takes_value: bool,
    /// How `--help` shows it.
    pub help: Help,
}

const fn flag(opt: Opt, long: &'static str, help: Help) -> OptionSpec {
    OptionSpec {
        opt,
        long: Some(long),
        short: None,
        takes_value: false,
        help,
    }
}

const fn value(opt: Opt, long: &'static str, help: Help) -> OptionSpec {
    OptionSpec {
        opt,
        long: Some(long),
        short: None,
        takes_value: true,
        help,
    }
}

const fn short_only(opt: Opt, short: char, help: Help) -> OptionSpec {
    OptionSpec {
        opt,
        long: None,
        short: Some(short),
        takes_value: false,
        help,
    }
}

const fn line(usage: &'static str, text: &'static str) -> Help {
    Help::Line { usage, text }
}

const fn run(usage: &'static str, break_after: bool) -> Help {
    Help::Run { usage, break_after }
}

/// Every option of systemd-repart 257, in the order `--help` lists them.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        short: Some('h'),
        ..flag(Opt::Help, "help", line("--help", "Show this help"))
    },
    flag(
        Opt::Version,
        "version",
        line("--version", "Show package version"),
    ),
    flag(
        Opt::NoPager,
        "no-pager",
        line("--no-pager", "Do not pipe output into a pager"),
    ),
    flag(
        Opt::NoLegend,
        "no-legend",
        line("--no-legend", "Do not show the header of the table"),
    ),
    value(
        Opt::Json,
        "json",
        line("--json=pretty|short|off|help", "Print the plan as JSON"),
    ),
    value(
        Opt::DryRun,
        "dry-run",
        line(
            "--dry-run=BOOL",
            "Only show what would be done (default: yes)",
        ),
    ),
    value(
        Opt::Empty,
        "empty",
        line(
            "--empty=refuse|allow|require|force|create",
            "What to do with a disk without partition table",
        ),
    ),
    value(
        Opt::Discard,
        "discard",
        line(
            "--discard=BOOL",
            "Whether to discard the backing blocks of new partitions",
        ),
    ),
    value(
        Opt::FactoryReset,
        "factory-reset",
        line(
            "--factory-reset=BOOL",
            "Remove partitions marked FactoryReset=yes first",
        ),
    ),
    flag(
        Opt::CanFactoryReset,
        "can-factory-reset",
        line(
            "--can-factory-reset",
            "Exit 0 if a factory reset would remove partitions",
        ),
    ),
    value(
        Opt::Size,
        "size",
        line(
            "--size=BYTES|auto",
            "Grow the image file to this size (auto: as needed)",
        ),
    ),
    value(
        Opt::Root,
        "root",
        line(
            "--root=PATH",
            "Look for definitions and the machine ID below PATH",
        ),
    ),
    value(
        Opt::Seed,
        "seed",
        line("--seed=UUID|random", "Seed for the UUIDs repart derives"),
    ),
    value(
        Opt::Pretty,
        "pretty",
        line(
            "--pretty=BOOL",
            "Show the table and bar diagram (default: yes)",
        ),
    ),
    value(
        Opt::Definitions,
        "definitions",
        line(
            "--definitions=DIR",
            "Read definitions from DIR (repeatable)",
        ),
    ),
    value(
        Opt::SectorSize,
        "sector-size",
        line(
            "--sector-size=SIZE",
            "Sector size of a new partition table (512…4096)",
        ),
    ),
    value(
        Opt::Architecture,
        "architecture",
        line(
            "--architecture=ARCH",
            "Architecture for root/usr partition types",
        ),
    ),
    value(
        Opt::Offline,
        "offline",
        line(
            "--offline=BOOL|auto",
            "Never use loop devices (yes), always (no), or try (auto)",
        ),
    ),
    value(
        Opt::IncludePartitions,
        "include-partitions",
        line(
            "--include-partitions=TYPE,...",
            "Only use definitions of these partition types",
        ),
    ),
    value(
        Opt::ExcludePartitions,
        "exclude-partitions",
        line(
            "--exclude-partitions=TYPE,...",
            "Ignore definitions of these partition types",
        ),
    ),
    OptionSpec {
        short: Some('s'),
        ..value(
            Opt::CopySource,
            "copy-source",
            line(
                "--copy-source=PATH",
                "Base directory for CopyFiles= sources",
            ),
        )
    },
    value(
        Opt::CopyFrom,
        "copy-from",
        line(
            "--copy-from=IMAGE",
            "Copy the partitions of IMAGE first (repeatable)",
        ),
    ),
    value(
        Opt::Split,
        "split",
        line("--split=BOOL", "Also write each partition to its own file"),
    ),
    value(
        Opt::GenerateFstab,
        "generate-fstab",
        line(
            "--generate-fstab=PATH",
            "Write an fstab for the MountPoint= settings",
        ),
    ),
    value(
        Opt::GenerateCrypttab,
        "generate-crypttab",
        line(
            "--generate-crypttab=PATH",
            "Write a crypttab for the EncryptedVolume= settings",
        ),
    ),
    value(
        Opt::DeferPartitions,
        "defer-partitions",
        line(
            "--defer-partitions=TYPE,...",
            "Plan partitions of these types but do not write them",
        ),
    ),
    flag(
        Opt::ListDevices,
        "list-devices",
        line(
            "--list-devices",
            "List candidate block devices to operate on",
        ),
    ),
    value(
        Opt::KeyFile,
        "key-file",
        line("--key-file=PATH", "Key for Encrypt= (read and kept)"),
    ),
    value(
        Opt::PrivateKey,
        "private-key",
        line("--private-key=PATH", "Private key for Verity=signature"),
    ),
    value(
        Opt::PrivateKeySource,
        "private-key-source",
        Help::Usage("--private-key-source=file|provider:P|engine:E"),
    ),
    value(
        Opt::Certificate,
        "certificate",
        line(
            "--certificate=PATH",
            "Certificate (PEM) for Verity=signature",
        ),
    ),
    value(
        Opt::CertificateSource,
        "certificate-source",
        Help::Usage("--certificate-source=file|provider:P"),
    ),
    value(
        Opt::Tpm2Device,
        "tpm2-device",
        run("--tpm2-device=PATH", false),
    ),
    value(
        Opt::Tpm2DeviceKey,
        "tpm2-device-key",
        run("--tpm2-device-key=PATH", false),
    ),
    value(
        Opt::Tpm2SealKeyHandle,
        "tpm2-seal-key-handle",
        run("--tpm2-seal-key-handle=HANDLE", true),
    ),
    value(
        Opt::Tpm2Pcrs,
        "tpm2-pcrs",
        run("--tpm2-pcrs=PCR+...", false),
    ),
    value(
        Opt::Tpm2PublicKey,
        "tpm2-public-key",
        run("--tpm2-public-key=PATH", false),
    ),
    value(
        Opt::Tpm2PublicKeyPcrs,
        "tpm2-public-key-pcrs",
        run("--tpm2-public-key-pcrs=PCR+...", true),
    ),
    value(
        Opt::Tpm2Pcrlock,
        "tpm2-pcrlock",
        line(
            "--tpm2-pcrlock=PATH",
            "TPM2 enrollment settings (checked and kept)",
        ),
    ),
    value(
        Opt::ImagePolicy,
        "image-policy",
        line("--image-policy=POLICY", "Image dissection policy (checked)"),
    ),
    value(Opt::Image, "image", Help::Unsupported),
    value(
        Opt::MakeDdi,
        "make-ddi",
        line(
            "--make-ddi=TYPE",
            "Make a signed sysext/confext/portable DDI",
        ),
    ),
    short_only(Opt::Sysext, 'S', line("", "Same as --make-ddi=sysext")),
    short_only(Opt::Confext, 'C', line("", "Same as --make-ddi=confext")),
    short_only(Opt::Portable, 'P', line("", "Same as --make-ddi=portable")),
];

/// The long options in the order of upstream's `getopt_long` table, which is the order
/// in which glibc lists the possibilities of an ambiguous abbreviation.
pub const GETOPT_ORDER: &[Opt] = &[
    Opt::Help,
    Opt::Version,
    Opt::NoPager,
    Opt::NoLegend,
    Opt::DryRun,
    Opt::Empty,
    Opt::Discard,
    Opt::FactoryReset,
    Opt::CanFactoryReset,
    Opt::Root,
    Opt::Image,
    Opt::ImagePolicy,
    Opt::Seed,
    Opt::Pretty,
    Opt::Definitions,
    Opt::Size,
    Opt::Json,
    Opt::KeyFile,
    Opt::PrivateKey,
    Opt::PrivateKeySource,
    Opt::Certificate,
    Opt::CertificateSource,
    Opt::Tpm2Device,
    Opt::Tpm2DeviceKey,
    Opt::Tpm2SealKeyHandle,
    Opt::Tpm2Pcrs,
    Opt::Tpm2PublicKey,
    Opt::Tpm2PublicKeyPcrs,
    Opt::Tpm2Pcrlock,
    Opt::Split,
    Opt::IncludePartitions,
    Opt::ExcludePartitions,
    Opt::DeferPartitions,
    Opt::SectorSize,
    Opt::Architecture,
    Opt::Offline,
    Opt::CopyFrom,
    Opt::CopySource,
    Opt::MakeDdi,
    Opt::GenerateFstab,
    Opt::GenerateCrypttab,
    Opt::ListDevices,
];

/// The table entry of `opt`.
pub fn spec(opt: Opt) -> &'static OptionSpec {
    OPTIONS
        .iter()
        .find(|s| s.opt == opt)
        .expect("every Opt has a table entry (tested)")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The tags (`.TP`/`.TQ` headings) of a man page section, with roff's escapes for
    /// dashes and fonts removed.
    fn section_tags(page: &str, section: &str) -> Vec<String> {
        let mut tags = Vec::new();
        let mut inside = false;
        let mut tag_next = false;
        for line in page.lines() {
            if let Some(title) = line.strip_prefix(".SH ") {
                inside = title.trim_matches('"') == section;
                continue;
            }
            if !inside {
                continue;
            }
            if tag_next && line.starts_with(".B") {
                let plain = line
                    .replace("\\-", "-")
                    .replace(['"'], " ")
                    .replace("\\fR", " ")
                    .replace("\\fP", " ")
                    .replace("\\fI", " ")
                    .replace("\\fB", " ");
                tags.push(plain);
            }
            tag_next = line == ".TP" || line == ".TQ";
        }
        tags
    }

    /// `--name` and `-X` as documented in the OPTIONS section of man/repart.8.
    fn documented_options() -> (BTreeSet<String>, BTreeSet<char>) {
        let page = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/man/repart.8"));
        let mut longs = BTreeSet::new();
        let mut shorts = BTreeSet::new();
        for tag in section_tags(page, "OPTIONS") {
            for word in tag.split([' ', ',', '{', '}', '|']) {
                if let Some(name) = word.strip_prefix("--") {
                    let name = name.split('=').next().unwrap_or_default();
                    longs.insert(name.to_string());
                } else if let Some(rest) = word.strip_prefix('-') {
                    let mut chars = rest.chars();
                    if let (Some(c), None) = (chars.next(), chars.next()) {
                        shorts.insert(c);
                    }
                }
            }
        }
        (longs, shorts)
    }

    #[test]
    fn the_man_page_documents_exactly_the_options_of_the_table() {
        let (man_longs, man_shorts) = documented_options();
        let longs: BTreeSet<String> = OPTIONS
            .iter()
            .filter_map(|s| s.long.map(str::to_string))
            .collect();
        let shorts: BTreeSet<char> = OPTIONS.iter().filter_map(|s| s.short).collect();
        assert_eq!(
            longs.difference(&man_longs).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "options missing from man/repart.8"
        );
        assert_eq!(
            man_longs.difference(&longs).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "man/repart.8 documents options the table does not have"
        );
        assert_eq!(shorts, man_shorts);
    }

    #[test]
    fn names_and_options_are_unique() {
        let mut longs = BTreeSet::new();
        let mut shorts = BTreeSet::new();
        for s in OPTIONS {
            let entries = OPTIONS.iter().filter(|t| t.opt == s.opt).count();
            assert_eq!(entries, 1, "{:?} has {entries} entries", s.opt);
            assert_eq!(spec(s.opt), s);
            assert!(s.long.is_some() || s.short.is_some(), "{:?} unnamed", s.opt);
            assert!(
                s.long.is_none_or(|l| longs.insert(l)),
                "--{:?} twice",
                s.long
            );
            assert!(
                s.short.is_none_or(|c| shorts.insert(c)),
                "-{:?} twice",
                s.short
            );
        }
    }

    #[test]
    fn the_getopt_order_lists_every_long_option_once() {
        let listed: Vec<&str> = GETOPT_ORDER.iter().filter_map(|o| spec(*o).long).collect();
        assert_eq!(listed.len(), GETOPT_ORDER.len());
        let listed: BTreeSet<&str> = listed.into_iter().collect();
        assert_eq!(listed.len(), GETOPT_ORDER.len());
        let longs: BTreeSet<&str> = OPTIONS.iter().filter_map(|s| s.long).collect();
        assert_eq!(listed, longs);
    }
}
