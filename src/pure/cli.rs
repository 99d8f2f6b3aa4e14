//! The command line: what was typed ([`Args`], via clap) and what it means
//! ([`Options`], validated like upstream's `parse_argv`, with upstream's messages).
//!
//! clap cannot express systemd's value rules (booleans spelled `yes/no/on/off/1/0`,
//! sizes with `K/M/G`, `--json=help`), so every value is taken as a string here and
//! interpreted in [`Options::resolve`]. No I/O happens in this module.

use std::path::PathBuf;

use clap::Parser;
use uuid::Uuid;

use crate::pure::config::values::parse_boolean;
use crate::pure::gpt_types::{PartitionType, parse_architecture};
use crate::pure::security_args::{
    PcrValue, append_pcrs, check_image_policy, merge_pcr_mask, parse_seal_key_handle,
    pcr_error_message,
};
use crate::pure::size::{parse_size, round_up};
pub use crate::shell::signing::Secret;

/// Options exactly as given (last one wins for repeated scalars).
#[derive(Debug, Parser)]
#[command(
    name = "repart",
    disable_help_flag = true,
    disable_version_flag = true,
    args_override_self = true,
    infer_long_args = true
)]
pub struct Args {
    /// Show help.
    #[arg(short = 'h', long = "help")]
    pub help: bool,
    /// Show the version.
    #[arg(long)]
    pub version: bool,
    /// Never use a pager.
    #[arg(long)]
    pub no_pager: bool,
    /// Do not print the table header.
    #[arg(long)]
    pub no_legend: bool,
    /// JSON output mode.
    #[arg(long)]
    pub json: Option<String>,
    /// Only show what would be done.
    #[arg(long)]
    pub dry_run: Option<String>,
    /// What to do with a disk without partition table.
    #[arg(long)]
    pub empty: Option<String>,
    /// Discard new partitions.
    #[arg(long)]
    pub discard: Option<String>,
    /// Grow the image file to this size, or `auto`.
    #[arg(long)]
    pub size: Option<String>,
    /// Remove partitions marked FactoryReset=yes.
    #[arg(long)]
    pub factory_reset: Option<String>,
    /// Test whether a factory reset is possible.
    #[arg(long)]
    pub can_factory_reset: bool,
    /// Root directory.
    #[arg(long)]
    pub root: Option<String>,
    /// Disk image to operate relative to.
    #[arg(long)]
    pub image: Option<String>,
    /// Image dissection policy.
    #[arg(long)]
    pub image_policy: Option<String>,
    /// Seed for derived UUIDs.
    #[arg(long)]
    pub seed: Option<String>,
    /// Show the table and bar diagram.
    #[arg(long)]
    pub pretty: Option<String>,
    /// Definition directories (repeatable).
    #[arg(long, action = clap::ArgAction::Append)]
    pub definitions: Vec<String>,
    /// Key file for encryption.
    #[arg(long)]
    pub key_file: Option<String>,
    /// Private key for verity signatures.
    #[arg(long)]
    pub private_key: Option<String>,
    /// Private key source.
    #[arg(long)]
    pub private_key_source: Option<String>,
    /// Certificate for verity signatures.
    #[arg(long)]
    pub certificate: Option<String>,
    /// Certificate source.
    #[arg(long)]
    pub certificate_source: Option<String>,
    /// TPM2 device.
    #[arg(long)]
    pub tpm2_device: Option<String>,
    /// TPM2 device key.
    #[arg(long)]
    pub tpm2_device_key: Option<String>,
    /// TPM2 seal key handle.
    #[arg(long)]
    pub tpm2_seal_key_handle: Option<String>,
    /// TPM2 PCRs (repeatable, entries accumulate).
    #[arg(long, action = clap::ArgAction::Append)]
    pub tpm2_pcrs: Vec<String>,
    /// TPM2 signed PCR policy public key.
    #[arg(long)]
    pub tpm2_public_key: Option<String>,
    /// TPM2 public key PCRs (repeatable, masks are combined).
    #[arg(long, action = clap::ArgAction::Append)]
    pub tpm2_public_key_pcrs: Vec<String>,
    /// TPM2 pcrlock policy.
    #[arg(long)]
    pub tpm2_pcrlock: Option<String>,
    /// Write split artifacts.
    #[arg(long)]
    pub split: Option<String>,
    /// Only use definitions of these types.
    #[arg(long)]
    pub include_partitions: Option<String>,
    /// Ignore definitions of these types.
    #[arg(long)]
    pub exclude_partitions: Option<String>,
    /// Plan but do not write partitions of these types.
    #[arg(long)]
    pub defer_partitions: Option<String>,
    /// Sector size for new tables.
    #[arg(long)]
    pub sector_size: Option<String>,
    /// Architecture for architecture-specific types.
    #[arg(long)]
    pub architecture: Option<String>,
    /// Whether to avoid loop devices.
    #[arg(long)]
    pub offline: Option<String>,
    /// Copy partitions from these images (repeatable).
    #[arg(long, action = clap::ArgAction::Append)]
    pub copy_from: Vec<String>,
    /// Source directory for CopyFiles=.
    #[arg(short = 's', long)]
    pub copy_source: Option<String>,
    /// Make a DDI of this type.
    #[arg(long)]
    pub make_ddi: Option<String>,
    /// Short for --make-ddi=sysext.
    #[arg(short = 'S')]
    pub sysext: bool,
    /// Short for --make-ddi=confext.
    #[arg(short = 'C')]
    pub confext: bool,
    /// Short for --make-ddi=portable.
    #[arg(short = 'P')]
    pub portable: bool,
    /// Write an fstab.
    #[arg(long)]
    pub generate_fstab: Option<String>,
    /// Write a crypttab.
    #[arg(long)]
    pub generate_crypttab: Option<String>,
    /// List candidate block devices.
    #[arg(long)]
    pub list_devices: bool,
    /// The device or image file.
    #[arg(value_name = "DEVICE")]
    pub positional: Vec<String>,
}

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
    /// Messages upstream prints while parsing (e.g. size rounding).
    pub notices: Vec<String>,
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
    /// `--tpm2-pcrs=`, sorted by bank and index.
    pub tpm2_pcrs: Vec<PcrValue>,
    /// `--tpm2-public-key=`.
    pub tpm2_public_key: Option<PathBuf>,
    /// `--tpm2-public-key-pcrs=` as a mask (`None` = not given: upstream's default).
    pub tpm2_public_key_pcr_mask: Option<u32>,
    /// `--tpm2-pcrlock=`.
    pub tpm2_pcrlock: Option<PathBuf>,
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

fn err<T>(message: impl Into<String>) -> Result<T, CliError> {
    Err(CliError {
        message: message.into(),
    })
}

fn boolean_option(name: &str, value: &Option<String>) -> Result<Option<bool>, CliError> {
    match value {
        None => Ok(None),
        Some(v) => match parse_boolean(v) {
            Some(b) => Ok(Some(b)),
            None => err(format!(
                "Failed to parse boolean argument to --{name}=: {v}."
            )),
        },
    }
}

fn not_supported<T>(option: &str) -> Result<T, CliError> {
    err(format!(
        "{option} is not supported yet by this repart (see README: supported features)."
    ))
}

fn parse_type_list(text: &str, arch: Option<&'static str>) -> Result<Vec<Uuid>, CliError> {
    let mut out = Vec::new();
    for word in text.split(',').filter(|w| !w.is_empty()) {
        match PartitionType::parse(word) {
            Some(ty) => {
                let ty = match arch {
                    Some(a) => ty.with_architecture(a),
                    None => ty,
                };
                out.push(ty.uuid);
            }
            None => {
                return err(format!(
                    "'{word}' is not a valid partition type identifier or GUID"
                ));
            }
        }
    }
    Ok(out)
}

impl Options {
    /// Validates and interprets `args` in upstream's order; `--key-file=` is not read
    /// (its contents stay empty). For tests and callers without files.
    pub fn resolve(args: &Args) -> Result<Options, CliError> {
        Self::resolve_with(args, &mut |_| Ok(Secret::default()))
    }

    /// Like [`Options::resolve`], reading `--key-file=` with `read_key_file` when it
    /// comes up (upstream reads it while parsing, so its errors come before later checks).
    pub fn resolve_with(
        args: &Args,
        read_key_file: &mut dyn FnMut(&str) -> Result<Secret, CliError>,
    ) -> Result<Options, CliError> {
        let mut o = Options {
            help: args.help,
            version: args.version,
            dry_run: true,
            discard: true,
            no_legend: args.no_legend,
            ..Options::default()
        };
        if o.help || o.version {
            return Ok(o);
        }
        if let Some(json) = &args.json {
            o.json = match json.as_str() {
                "help" => {
                    // Upstream lists the modes and exits right away.
                    o.json_help = true;
                    return Ok(o);
                }
                "pretty" => JsonMode::Pretty,
                "short" => JsonMode::Short,
                "off" => JsonMode::Off,
                other => return err(format!("Unknown argument to --json= switch: {other}")),
            };
        }
        let dry_run = boolean_option("dry-run", &args.dry_run)?;
        if let Some(empty) = &args.empty {
            o.empty = match empty.as_str() {
                "" | "refuse" => EmptyMode::Refuse,
                "allow" => EmptyMode::Allow,
                "require" => EmptyMode::Require,
                "force" => EmptyMode::Force,
                "create" => EmptyMode::Create,
                other => return err(format!("Failed to parse --empty= parameter: {other}")),
            };
        }
        if let Some(d) = boolean_option("discard", &args.discard)? {
            o.discard = d;
        }
        if let Some(size) = &args.size {
            o.size = Some(Self::parse_size_request(size, &mut o.notices)?);
        }
        o.factory_reset = boolean_option("factory-reset", &args.factory_reset)?;
        o.can_factory_reset = args.can_factory_reset;
        o.root = args
            .root
            .as_ref()
            .filter(|r| !r.is_empty())
            .map(PathBuf::from);
        if args.image.is_some() {
            return not_supported("--image=");
        }
        if let Some(seed) = &args.seed {
            o.seed = match seed.as_str() {
                "" => Seed::MachineId,
                "random" => Seed::Random,
                text => match Uuid::try_parse(text) {
                    Ok(u) => Seed::Fixed(u),
                    Err(_) => return err(format!("Failed to parse seed: {text}")),
                },
            };
        }
        o.pretty = boolean_option("pretty", &args.pretty)?;
        for dir in &args.definitions {
            if dir.is_empty() {
                continue;
            }
            let path = PathBuf::from(dir);
            if !o.definitions.contains(&path) {
                o.definitions.push(path);
            }
        }
        if let Some(path) = &args.key_file {
            o.key_file = Some(read_key_file(path)?);
        }
        Self::resolve_signing(args, &mut o)?;
        Self::resolve_tpm2(args, &mut o)?;
        if let Some(policy) = &args.image_policy {
            check_image_policy(policy).map_err(|e| CliError {
                message: e.message(policy),
            })?;
            o.image_policy = Some(policy.clone()).filter(|p| !p.is_empty());
        }
        if args.make_ddi.is_some() {
            return not_supported("--make-ddi=");
        }
        o.split = boolean_option("split", &args.split)?.unwrap_or(false);
        o.generate_fstab = args.generate_fstab.as_ref().map(PathBuf::from);
        o.generate_crypttab = args.generate_crypttab.as_ref().map(PathBuf::from);
        if args.sysext || args.confext || args.portable {
            return not_supported("--make-ddi= (-S/-C/-P)");
        }
        o.copy_from = args.copy_from.iter().map(PathBuf::from).collect();
        if args.list_devices {
            // Upstream lists the devices while parsing and exits.
            o.list_devices = true;
            return Ok(o);
        }
        if let Some(ss) = &args.sector_size {
            o.sector_size = Some(Self::parse_sector_size(ss)?);
        }
        if let Some(arch) = &args.architecture {
            match parse_architecture(arch) {
                Some(a) => o.architecture = Some(a),
                None => return err(format!("Invalid architecture '{arch}'.")),
            }
        }
        if let Some(offline) = &args.offline {
            o.offline = match offline.as_str() {
                "auto" => None,
                v => match parse_boolean(v) {
                    Some(b) => Some(b),
                    None => {
                        return err(format!(
                            "Failed to parse boolean argument to --offline=: {v}."
                        ));
                    }
                },
            };
        }
        o.copy_source = args.copy_source.as_ref().map(PathBuf::from);
        if args.positional.len() > 1 {
            return err(
                "Expected at most one argument, the path to the block device or image file.",
            );
        }
        o.node = args.positional.first().cloned();

        // Validation after parsing, in upstream's order.
        if args.include_partitions.is_some() && args.exclude_partitions.is_some() {
            return err(
                "Combination of --include-partitions= and --exclude-partitions= is invalid.",
            );
        }
        if o.factory_reset == Some(true)
            && matches!(
                o.empty,
                EmptyMode::Force | EmptyMode::Require | EmptyMode::Create
            )
        {
            return err(
                "Combination of --factory-reset=yes and --empty=force/--empty=require/--empty=create is invalid.",
            );
        }
        o.dry_run = match (o.empty, dry_run) {
            _ if o.can_factory_reset => true,
            // Upstream writes a created image even when a dry run is asked for.
            (EmptyMode::Create, _) => false,
            (_, Some(d)) => d,
            (_, None) => true,
        };
        if o.empty == EmptyMode::Create && o.size.is_none() {
            return err("If --empty=create is specified, --size= must be specified, too.");
        }
        if matches!(
            o.empty,
            EmptyMode::Force | EmptyMode::Require | EmptyMode::Create
        ) && o.node.is_none()
        {
            return err(
                "A path to a device node or image file must be specified when --make-ddi=, --empty=force, --empty=require or --empty=create are used.",
            );
        }
        if let Some(list) = &args.include_partitions {
            o.include_partitions = Some(parse_type_list(list, o.architecture)?);
        }
        if o.split && o.node.is_none() {
            return err("A path to an image file must be specified when --split is used.");
        }
        if let Some(list) = &args.defer_partitions {
            o.defer_partitions = parse_type_list(list, o.architecture)?;
        }
        if let Some(list) = &args.exclude_partitions {
            o.exclude_partitions = Some(parse_type_list(list, o.architecture)?);
        }
        Ok(o)
    }

    /// `--private-key=`, `--certificate=` and their sources (the files are loaded by the
    /// caller after all other checks, as upstream does at the end of parsing).
    fn resolve_signing(args: &Args, o: &mut Options) -> Result<(), CliError> {
        if let Some(source) = &args.private_key_source {
            o.private_key_source = KeySource::parse(source, true).ok_or_else(|| CliError {
                message: format!("Invalid private key source '{source}'"),
            })?;
        }
        if let Some(source) = &args.certificate_source {
            o.certificate_source = KeySource::parse(source, false).ok_or_else(|| CliError {
                message: format!("Invalid certificate source '{source}'"),
            })?;
        }
        // An empty path means "none" (upstream aborts on an assertion instead).
        o.private_key = args.private_key.clone().filter(|p| !p.is_empty());
        o.certificate = args.certificate.clone().filter(|p| !p.is_empty());
        Ok(())
    }

    /// The `--tpm2-*` options, checked like upstream; nothing uses them before
    /// `Encrypt=tpm2` is supported.
    fn resolve_tpm2(args: &Args, o: &mut Options) -> Result<(), CliError> {
        if let Some(device) = &args.tpm2_device {
            if device == "list" {
                // Listing needs the TPM2 stack, which this repart does not have.
                return err("TPM2 support is not installed.");
            }
            o.tpm2_device = Some(device.clone()).filter(|d| !d.is_empty() && d != "auto");
        }
        let path = |v: &Option<String>| v.clone().filter(|p| !p.is_empty()).map(PathBuf::from);
        o.tpm2_device_key = path(&args.tpm2_device_key);
        o.tpm2_public_key = path(&args.tpm2_public_key);
        o.tpm2_pcrlock = path(&args.tpm2_pcrlock);
        if let Some(handle) = &args.tpm2_seal_key_handle {
            o.tpm2_seal_key_handle =
                Some(parse_seal_key_handle(handle).map_err(|errno| CliError {
                    message: format!(
                        "Could not parse TPM2 seal key handle index '{handle}': {errno}"
                    ),
                })?);
        }
        for arg in &args.tpm2_pcrs {
            append_pcrs(&mut o.tpm2_pcrs, arg).map_err(|e| CliError {
                message: pcr_error_message(arg, &e),
            })?;
        }
        for arg in &args.tpm2_public_key_pcrs {
            merge_pcr_mask(&mut o.tpm2_public_key_pcr_mask, arg).map_err(|e| CliError {
                message: pcr_error_message(arg, &e),
            })?;
        }
        Ok(())
    }

    fn parse_size_request(text: &str, notices: &mut Vec<String>) -> Result<SizeRequest, CliError> {
        if text == "auto" {
            return Ok(SizeRequest::Auto);
        }
        let Ok(bytes) = parse_size(text) else {
            return err(format!("Failed to parse --size= parameter: {text}"));
        };
        let rounded = round_up(bytes, 4096);
        if rounded == 0 {
            return err("Specified image size too small, refusing.");
        }
        if rounded == u64::MAX {
            return err("Specified image size too large, refusing.");
        }
        if rounded != bytes {
            notices.push(format!(
                "Specified size is not a multiple of 4096, rounding up automatically. ({bytes} → {rounded})"
            ));
        }
        Ok(SizeRequest::Bytes(rounded))
    }

    fn parse_sector_size(text: &str) -> Result<u64, CliError> {
        let Ok(value) = text.trim().parse::<u64>() else {
            return err(format!("Failed to parse sector size '{text}'."));
        };
        if !(512..=4096).contains(&value) {
            return err(format!("Sector size not between 512 and 4096: {text}"));
        }
        if !value.is_power_of_two() {
            return err(format!("Sector size not power of 2: {text}"));
        }
        Ok(value)
    }
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

/// Our `--help` text.
pub fn help_text(program: &str) -> String {
    format!(
        "{program} [OPTIONS...] [DEVICE]

Grow and add partitions to a partition table, following the definitions in
repart.d/ drop-in files. A drop-in replacement for systemd-repart 257.

Options:
  -h --help               Show this help
     --version            Show package version
     --no-pager           Do not pipe output into a pager
     --no-legend          Do not show the header of the table
     --json=pretty|short|off|help
                          Print the plan as JSON
     --dry-run=BOOL       Only show what would be done (default: yes)
     --empty=refuse|allow|require|force|create
                          What to do with a disk without partition table
     --discard=BOOL       Whether to discard the backing blocks of new partitions
     --factory-reset=BOOL Remove partitions marked FactoryReset=yes first
     --can-factory-reset  Exit 0 if a factory reset would remove partitions
     --size=BYTES|auto    Grow the image file to this size (auto: as needed)
     --root=PATH          Look for definitions and the machine ID below PATH
     --seed=UUID|random   Seed for the UUIDs repart derives
     --pretty=BOOL        Show the table and bar diagram (default: yes)
     --definitions=DIR    Read definitions from DIR (repeatable)
     --sector-size=SIZE   Sector size of a new partition table (512…4096)
     --architecture=ARCH  Architecture for root/usr partition types
     --offline=BOOL|auto  Never use loop devices (yes), always (no), or try (auto)
     --include-partitions=TYPE,...
                          Only use definitions of these partition types
     --exclude-partitions=TYPE,...
                          Ignore definitions of these partition types
  -s --copy-source=PATH   Base directory for CopyFiles= sources
     --copy-from=IMAGE    Copy the partitions of IMAGE first (repeatable)
     --split=BOOL         Also write each partition to its own file
     --generate-fstab=PATH
                          Write an fstab for the MountPoint= settings
     --generate-crypttab=PATH
                          Write a crypttab for the EncryptedVolume= settings
     --defer-partitions=TYPE,...
                          Plan partitions of these types but do not write them
     --list-devices       List candidate block devices to operate on
     --key-file=PATH      Key for Encrypt= (read and kept)
     --private-key=PATH   Private key for Verity=signature (loaded and kept)
     --private-key-source=file|provider:P|engine:E
     --certificate=PATH   Certificate for Verity=signature (loaded and kept)
     --certificate-source=file|provider:P
     --tpm2-device=PATH, --tpm2-device-key=PATH, --tpm2-seal-key-handle=HANDLE,
     --tpm2-pcrs=PCR+..., --tpm2-public-key=PATH, --tpm2-public-key-pcrs=PCR+...,
     --tpm2-pcrlock=PATH  TPM2 enrollment settings (checked and kept)
     --image-policy=POLICY
                          Image dissection policy (checked)

Accepted, but fail with a clear error when a partition needs them: Encrypt=,
Verity=signature, key or certificate sources other than 'file'.
Not supported yet (they fail with a clear error): --image=, --make-ddi=/-S/-C/-P.

See repart(8) and repart.d(5) for details.
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(argv: &[&str]) -> Result<Options, CliError> {
        let args = Args::try_parse_from(std::iter::once("repart").chain(argv.iter().copied()))
            .map_err(|e| CliError {
                message: e.to_string(),
            })?;
        Options::resolve(&args)
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
    fn size_rounding_notice() {
        let o = resolve(&["--size=5000"]).unwrap();
        assert_eq!(o.size, Some(SizeRequest::Bytes(8192)));
        assert_eq!(
            o.notices,
            vec![
                "Specified size is not a multiple of 4096, rounding up automatically. (5000 → 8192)"
            ]
        );
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
