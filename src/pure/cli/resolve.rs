//! What the command line means: the options applied one by one in command-line order
//! (as upstream's `parse_argv` handles each option when `getopt_long` returns it), then
//! the checks upstream makes after the last option, in upstream's order.
//!
//! So of two bad values the first on the command line is reported; a valid value
//! replaces an earlier one (last wins) or adds to it (lists); `--help`, `--version`,
//! `--json=help` and `--list-devices` end parsing where they stand, before any later
//! option is looked at.

use std::path::PathBuf;

use uuid::Uuid;

use super::ResolveError;
use super::parse::{CommandLine, Given};
use super::table::Opt;
use super::{
    CliError, EmptyMode, JsonMode, KeySource, Options, Secret, Seed, SizeRequest, err,
    not_supported,
};
use crate::pure::config::values::{filename_is_valid, parse_boolean, parse_u64};
use crate::pure::gpt_types::{PartitionType, parse_architecture};
use crate::pure::security_args::{
    append_pcrs, check_image_policy, merge_pcr_mask, parse_seal_key_handle, pcr_error_message,
};
use crate::pure::size::{parse_size, round_up};

/// What resolving needs from outside: upstream reads `--key-file=` and prints notices
/// while it parses, so both happen at the option's place in the order.
pub trait ParseEnv {
    /// Reads the `--key-file=` file (its warnings are printed right away).
    fn read_key_file(&mut self, path: &str) -> Result<Secret, CliError>;
    /// An informational message from parsing (e.g. size rounding), printed right away.
    fn notice(&mut self, message: String);
    /// Whether directory `dir` has no entries at all (hidden ones count), or the
    /// strerror() text of why that cannot be told (the `--make-ddi=` copy source).
    fn dir_is_empty(&mut self, dir: &std::path::Path) -> Result<bool, String>;
    /// `path` made absolute against the working directory.
    fn absolute(&self, path: &std::path::Path) -> PathBuf;
}

/// A [`ParseEnv`] without files: `--key-file=` reads as empty, notices are collected.
#[derive(Debug, Default)]
pub struct NoFiles {
    /// The notices, in order.
    pub notices: Vec<String>,
}

impl ParseEnv for NoFiles {
    fn read_key_file(&mut self, _path: &str) -> Result<Secret, CliError> {
        Ok(Secret::default())
    }
    fn notice(&mut self, message: String) {
        self.notices.push(message);
    }
    /// Copy sources count as non-empty directories.
    fn dir_is_empty(&mut self, _dir: &std::path::Path) -> Result<bool, String> {
        Ok(false)
    }
    fn absolute(&self, path: &std::path::Path) -> PathBuf {
        path.to_path_buf()
    }
}

/// `--include-partitions=` / `--exclude-partitions=`: only one kind per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilterKind {
    Include,
    Exclude,
}

/// Values kept while the options are applied and only interpreted after the last one.
#[derive(Debug, Default)]
struct Pending {
    dry_run: Option<bool>,
    filter: Option<(FilterKind, Vec<PartitionType>)>,
    defer: Vec<PartitionType>,
    image: Option<String>,
    /// The last DDI type asked for (`--make-ddi=`, `-S`, `-C`, `-P`).
    make_ddi: Option<String>,
    /// Whether `--empty=` was given (`--make-ddi=` only combines with `create`).
    empty_given: bool,
}

/// Whether parsing ended early at an option that does its job right away.
enum Step {
    Continue,
    Done,
}

impl Options {
    /// Resolves `line` with `--key-file=` read as empty (for tests and callers without
    /// files); notices are dropped.
    pub fn resolve(line: &CommandLine) -> Result<Options, ResolveError> {
        Self::resolve_with(line, &mut NoFiles::default())
    }

    /// Applies the options of `line` in order; then reports its syntax error (upstream's
    /// getopt_long reaches it only now) or makes upstream's checks.
    pub fn resolve_with(
        line: &CommandLine,
        env: &mut dyn ParseEnv,
    ) -> Result<Options, ResolveError> {
        let mut o = Options {
            dry_run: true,
            discard: true,
            ..Options::default()
        };
        let mut pending = Pending::default();
        for given in &line.given {
            if let Step::Done = o.apply(given, &mut pending, env)? {
                return Ok(o);
            }
        }
        if let Some(e) = &line.syntax_error {
            return Err(ResolveError::Syntax(e.clone()));
        }
        o.check_after_parsing(line, pending, env)?;
        Ok(o)
    }

    /// One option.
    fn apply(
        &mut self,
        given: &Given,
        pending: &mut Pending,
        env: &mut dyn ParseEnv,
    ) -> Result<Step, CliError> {
        let o = self;
        let v = given.value.as_deref().unwrap_or_default();
        let path = |v: &str| Some(PathBuf::from(v)).filter(|_| !v.is_empty());
        match given.opt {
            Opt::Help => {
                o.help = true;
                return Ok(Step::Done);
            }
            Opt::Version => {
                o.version = true;
                return Ok(Step::Done);
            }
            Opt::NoPager => {}
            Opt::NoLegend => o.no_legend = true,
            Opt::Json => {
                o.json = match v {
                    "help" => {
                        o.json_help = true;
                        return Ok(Step::Done);
                    }
                    "pretty" => JsonMode::Pretty,
                    "short" => JsonMode::Short,
                    "off" => JsonMode::Off,
                    other => return err(format!("Unknown argument to --json= switch: {other}")),
                }
            }
            Opt::DryRun => pending.dry_run = Some(boolean("dry-run", v)?),
            Opt::Empty => {
                pending.empty_given = true;
                o.empty = match v {
                    "" | "refuse" => EmptyMode::Refuse,
                    "allow" => EmptyMode::Allow,
                    "require" => EmptyMode::Require,
                    "force" => EmptyMode::Force,
                    "create" => EmptyMode::Create,
                    other => return err(format!("Failed to parse --empty= parameter: {other}")),
                }
            }
            Opt::Discard => o.discard = boolean("discard", v)?,
            Opt::FactoryReset => o.factory_reset = Some(boolean("factory-reset", v)?),
            Opt::CanFactoryReset => o.can_factory_reset = true,
            Opt::Size => o.size = Some(size_request(v, env)?),
            Opt::Root => o.root = path(v),
            Opt::Seed => {
                o.seed = match v {
                    "" => Seed::MachineId,
                    "random" => Seed::Random,
                    text => match Uuid::try_parse(text) {
                        Ok(u) => Seed::Fixed(u),
                        Err(_) => return err(format!("Failed to parse seed: {text}")),
                    },
                }
            }
            Opt::Pretty => o.pretty = Some(boolean("pretty", v)?),
            Opt::Definitions => {
                if let Some(dir) = path(v).filter(|d| !o.definitions.contains(d)) {
                    o.definitions.push(dir);
                }
            }
            Opt::SectorSize => o.sector_size = Some(sector_size(v)?),
            Opt::Architecture => match parse_architecture(v) {
                Some(a) => o.architecture = Some(a),
                None => return err(format!("Invalid architecture '{v}'.")),
            },
            Opt::Offline => {
                o.offline = match v {
                    "auto" => None,
                    v => Some(boolean("offline", v)?),
                }
            }
            Opt::IncludePartitions => add_filter(pending, FilterKind::Include, v)?,
            Opt::ExcludePartitions => add_filter(pending, FilterKind::Exclude, v)?,
            Opt::DeferPartitions => pending.defer.extend(type_list(v)?),
            Opt::CopySource => o.copy_source = Some(PathBuf::from(v)),
            Opt::CopyFrom => o.copy_from.push(PathBuf::from(v)),
            Opt::Split => o.split = boolean("split", v)?,
            Opt::GenerateFstab => o.generate_fstab = Some(PathBuf::from(v)),
            Opt::GenerateCrypttab => o.generate_crypttab = Some(PathBuf::from(v)),
            Opt::ListDevices => {
                // Upstream lists the devices while parsing and exits.
                o.list_devices = true;
                return Ok(Step::Done);
            }
            Opt::KeyFile => o.key_file = Some(env.read_key_file(v)?),
            Opt::PrivateKey => o.private_key = Some(v.to_string()).filter(|p| !p.is_empty()),
            Opt::PrivateKeySource => {
                o.private_key_source = KeySource::parse(v, true).ok_or_else(|| CliError {
                    message: format!("Invalid private key source '{v}'"),
                })?;
            }
            // An empty path means "none" (upstream aborts on an assertion instead).
            Opt::Certificate => o.certificate = Some(v.to_string()).filter(|p| !p.is_empty()),
            Opt::CertificateSource => {
                o.certificate_source = KeySource::parse(v, false).ok_or_else(|| CliError {
                    message: format!("Invalid certificate source '{v}'"),
                })?;
            }
            Opt::Tpm2Device => {
                if v == "list" {
                    // Upstream lists the TPM2 devices while parsing and exits.
                    o.list_tpm2_devices = true;
                    return Ok(Step::Done);
                }
                o.tpm2_device = Some(v.to_string()).filter(|d| !d.is_empty() && d != "auto");
            }
            Opt::Tpm2DeviceKey => o.tpm2_device_key = path(v),
            Opt::Tpm2SealKeyHandle => {
                o.tpm2_seal_key_handle =
                    Some(parse_seal_key_handle(v).map_err(|errno| CliError {
                        message: format!(
                            "Could not parse TPM2 seal key handle index '{v}': {errno}"
                        ),
                    })?);
            }
            Opt::Tpm2Pcrs => {
                append_pcrs(o.tpm2_pcrs.get_or_insert_with(Vec::new), v).map_err(|e| CliError {
                    message: pcr_error_message(v, &e),
                })?
            }
            Opt::Tpm2PublicKey => o.tpm2_public_key = path(v),
            Opt::Tpm2PublicKeyPcrs => {
                merge_pcr_mask(&mut o.tpm2_public_key_pcr_mask, v).map_err(|e| CliError {
                    message: pcr_error_message(v, &e),
                })?
            }
            Opt::Tpm2Pcrlock => {
                o.tpm2_pcrlock = match path(v) {
                    Some(p) => crate::pure::tpm2::pcrlock::PcrlockChoice::File(p),
                    None => crate::pure::tpm2::pcrlock::PcrlockChoice::Off,
                }
            }
            Opt::ImagePolicy => {
                check_image_policy(v).map_err(|e| CliError {
                    message: e.message(v),
                })?;
                o.image_policy = Some(v.to_string()).filter(|p| !p.is_empty());
            }
            Opt::Image => pending.image = Some(v.to_string()).filter(|p| !p.is_empty()),
            Opt::MakeDdi => {
                if !filename_is_valid(v) {
                    return err(format!("Invalid DDI type: {v}"));
                }
                pending.make_ddi = Some(v.to_string());
            }
            Opt::Sysext => pending.make_ddi = Some("sysext".to_string()),
            Opt::Confext => pending.make_ddi = Some("confext".to_string()),
            Opt::Portable => pending.make_ddi = Some("portable".to_string()),
        }
        Ok(Step::Continue)
    }

    /// `--make-ddi=`/`-S`/`-C`/`-P` after the last option, in upstream's order: refuses
    /// `--definitions=` and `--empty=` other than `create`, needs a copy source that is
    /// a non-empty directory, randomizes the seed unless one was given (with upstream's
    /// notice), and implies `--empty=create` and `--size=auto`. The definition set is
    /// looked up later, after the key files are loaded (`crate::shell::ddi`).
    fn make_ddi_mode(
        &mut self,
        ddi: String,
        pending: &Pending,
        env: &mut dyn ParseEnv,
    ) -> Result<(), CliError> {
        let o = self;
        if !o.definitions.is_empty() {
            return err("Combination of --make-ddi= and --definitions= is not supported.");
        }
        if pending.empty_given && o.empty != EmptyMode::Create {
            return err(format!(
                "Combination of --make-ddi= and --empty={} is not supported.",
                o.empty.name()
            ));
        }
        let Some(source) = &o.copy_source else {
            return err("No --copy-source= specified, refusing.");
        };
        let source = env.absolute(source);
        match env.dir_is_empty(&source) {
            Err(reason) => {
                return err(format!(
                    "Failed to determine if '{}' is empty: {reason}",
                    source.display()
                ));
            }
            Ok(true) => {
                return err(format!(
                    "Source directory '{}' is empty, refusing to create empty image.",
                    source.display()
                ));
            }
            Ok(false) => {}
        }
        // Without --seed=UUID|random (an empty --seed= means the machine ID too).
        if o.seed == Seed::MachineId {
            env.notice(
                "No seed value specified, randomizing generated UUIDs, resulting image will not be reproducible."
                    .to_string(),
            );
            o.seed = Seed::Random;
        }
        o.empty = EmptyMode::Create;
        o.size.get_or_insert(SizeRequest::Auto);
        o.make_ddi = Some(ddi);
        Ok(())
    }

    /// The checks after the last option, in upstream's order.
    fn check_after_parsing(
        &mut self,
        line: &CommandLine,
        pending: Pending,
        env: &mut dyn ParseEnv,
    ) -> Result<(), CliError> {
        let o = self;
        if line.positional.len() > 1 {
            return err(
                "Expected at most one argument, the path to the block device or image file.",
            );
        }
        if let Some(ddi) = pending.make_ddi.clone() {
            o.make_ddi_mode(ddi, &pending, env)?;
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
        o.dry_run = match (o.empty, pending.dry_run) {
            _ if o.can_factory_reset => true,
            // Upstream writes a created image even when a dry run is asked for.
            (EmptyMode::Create, _) => false,
            (_, Some(d)) => d,
            (_, None) => true,
        };
        if o.empty == EmptyMode::Create && o.size.is_none() {
            return err("If --empty=create is specified, --size= must be specified, too.");
        }
        o.node = line.positional.first().cloned();
        if matches!(
            o.empty,
            EmptyMode::Force | EmptyMode::Require | EmptyMode::Create
        ) && o.node.is_none()
        {
            return err(
                "A path to a device node or image file must be specified when --make-ddi=, --empty=force, --empty=require or --empty=create are used.",
            );
        }
        if o.split && o.node.is_none() {
            return err("A path to an image file must be specified when --split is used.");
        }
        // The architecture rewrites the listed types whatever the options' order.
        let arch = o.architecture;
        let uuids = |types: &[PartitionType]| -> Vec<Uuid> {
            types
                .iter()
                .map(|t| arch.map_or(*t, |a| t.with_architecture(a)).uuid)
                .collect()
        };
        match &pending.filter {
            Some((FilterKind::Include, types)) => o.include_partitions = Some(uuids(types)),
            Some((FilterKind::Exclude, types)) => o.exclude_partitions = Some(uuids(types)),
            None => {}
        }
        o.defer_partitions = uuids(&pending.defer);
        if pending.image.is_some() {
            // Upstream would only now set up the image; every check above comes first.
            return not_supported("--image=");
        }
        Ok(())
    }
}

fn boolean(name: &str, v: &str) -> Result<bool, CliError> {
    parse_boolean(v).ok_or_else(|| CliError {
        message: format!("Failed to parse boolean argument to --{name}=: {v}."),
    })
}

/// `--include-partitions=` / `--exclude-partitions=`: the lists of one kind add up; the
/// other kind is refused before its value is looked at (as upstream does).
fn add_filter(pending: &mut Pending, kind: FilterKind, v: &str) -> Result<(), CliError> {
    match &mut pending.filter {
        Some((k, _)) if *k != kind => {
            err("Combination of --include-partitions= and --exclude-partitions= is invalid.")
        }
        Some((_, types)) => {
            types.extend(type_list(v)?);
            Ok(())
        }
        None => {
            pending.filter = Some((kind, type_list(v)?));
            Ok(())
        }
    }
}

/// A comma-separated list of partition types; an empty entry (also an empty value) is
/// refused like any unknown name, as upstream does.
fn type_list(text: &str) -> Result<Vec<PartitionType>, CliError> {
    let mut out = Vec::new();
    for word in text.split(',') {
        match PartitionType::parse(word) {
            Some(ty) => out.push(ty),
            None => {
                return err(format!(
                    "'{word}' is not a valid partition type identifier or GUID"
                ));
            }
        }
    }
    Ok(out)
}

fn size_request(text: &str, env: &mut dyn ParseEnv) -> Result<SizeRequest, CliError> {
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
        env.notice(format!(
            "Specified size is not a multiple of 4096, rounding up automatically. ({bytes} → {rounded})"
        ));
    }
    Ok(SizeRequest::Bytes(rounded))
}

fn sector_size(text: &str) -> Result<u64, CliError> {
    // safe_atou64(): base prefixes (0x, 0o, 0b, a leading 0 is octal), leading blanks.
    let Ok(value) = parse_u64(text) else {
        return err(format!("Failed to parse sector size parameter {text}"));
    };
    if !(512..=4096).contains(&value) {
        return err(format!("Sector size not between 512 and 4096: {text}"));
    }
    if !value.is_power_of_two() {
        return err(format!("Sector size not power of 2: {text}"));
    }
    Ok(value)
}
