//! The main sequence (spec §8): the imperative shell that reads definitions, opens the
//! target, asks the pure planner for a plan, prints it and hands it to `apply`.
//!
//! Every message that upstream prints is printed here or in `apply`, in the same order.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::pure::cli::{
    CommandLine, EmptyMode, JsonMode, Options, ParseEnv, ResolveError, Seed, SizeRequest, help_text,
};
use crate::pure::config::{self, Definition};
use crate::pure::model::{DiskState, Label};
use crate::pure::output::{self, RenderOptions};
use crate::pure::plan::{Content, Draft, Identified, Measured, Plan};
use crate::pure::policy;
use crate::pure::size::format_bytes;
use crate::shell::apply;
use crate::shell::block_sources::{self, JobSettings};
use crate::shell::definition_files;
use crate::shell::disk::{LockMode, OpenOptions as TargetOptions, Target, TargetKind, open_target};
use crate::shell::environment::Environment;

/// Exit status of a failed run.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status when no root block device was found.
pub const EXIT_NO_DEVICE: u8 = 76;
/// Exit status when the disk's label state forbids repartitioning.
pub const EXIT_LABEL_REFUSED: u8 = 77;

/// A failure with the exit status it maps to. Messages are already printed.
#[derive(Debug)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
}

fn fail(message: impl std::fmt::Display) -> Failure {
    tracing::error!("{message}");
    Failure { code: EXIT_FAILURE }
}

/// Runs repart; returns the exit status.
pub fn run(line: &CommandLine, env: &Environment) -> u8 {
    let resolved = match Options::resolve_with(line, &mut PrintingParseEnv) {
        Ok(o) => Ok(o),
        Err(ResolveError::Invalid(e)) => Err(e.message),
        // Written by glibc's getopt_long, not logged: no colour, no log level.
        Err(ResolveError::Syntax(e)) => {
            use std::io::Write as _;
            let message = [line.program.as_bytes(), b": ", &e.to_bytes(), b"\n"].concat();
            // Nothing to do if stderr is gone.
            let _ = std::io::stderr().write_all(&message);
            return EXIT_FAILURE;
        }
    };
    let options = match resolved
        .and_then(load_signing_material)
        .and_then(find_ddi_definitions)
    {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("{e}");
            return EXIT_FAILURE;
        }
    };
    if options.help {
        print!("{}", help_text(line.short_program()));
        return 0;
    }
    if options.version {
        print!("{}", crate::pure::cli::version_text());
        return 0;
    }
    if options.json_help {
        print!("pretty\nshort\noff\n");
        return 0;
    }
    if options.list_devices {
        let devices =
            crate::shell::list_devices::list(&crate::shell::list_devices::Roots::default());
        let mode = env.color_mode;
        let grey = mode.enabled().then(|| mode.grey());
        print!(
            "{}",
            crate::shell::list_devices::render(&devices, env.both_tty, grey)
        );
        return 0;
    }
    if options.list_tpm2_devices {
        let opts = render_options(&options, env, "");
        return match crate::shell::tpm2::list::list(std::path::Path::new("/sys/class/tpmrm"), &opts)
        {
            Ok(Some(table)) => {
                print!("{table}");
                0
            }
            Ok(None) => {
                tracing::info!("No suitable TPM2 devices found.");
                0
            }
            Err(e) => {
                tracing::error!("{e}");
                EXIT_FAILURE
            }
        };
    }
    let mut created: Option<CreatedImage> = None;
    let result = execute(&options, env, &mut created);
    match result {
        Ok(()) => {
            if let Some(c) = created.as_mut() {
                c.keep = true;
            }
            0
        }
        Err(f) => f.code,
    }
}

/// The files and messages of parsing: upstream reads `--key-file=` and prints its
/// notices and warnings while it parses, so they come before a later option's error.
struct PrintingParseEnv;

impl ParseEnv for PrintingParseEnv {
    fn read_key_file(
        &mut self,
        path: &str,
    ) -> Result<crate::pure::cli::Secret, crate::pure::cli::CliError> {
        let mut warnings = Vec::new();
        let result = crate::shell::signing::read_key_file(path, &mut warnings);
        warnings.iter().for_each(|w| tracing::warn!("{w}"));
        result.map_err(|message| crate::pure::cli::CliError { message })
    }

    fn notice(&mut self, message: String) {
        tracing::info!("{message}");
    }

    fn dir_is_empty(&mut self, dir: &Path) -> Result<bool, String> {
        match std::fs::read_dir(dir) {
            Ok(mut entries) => Ok(entries.next().is_none()),
            Err(e) => Err(crate::shell::disk::strerror(&e)),
        }
    }

    fn absolute(&self, path: &Path) -> PathBuf {
        absolute(path)
    }
}

/// `--make-ddi=`: the type's definition set, looked up after the keys are loaded (as
/// upstream); an installed directory becomes the one `--definitions=` directory.
fn find_ddi_definitions(mut options: Options) -> Result<Options, String> {
    if options.list_tpm2_devices {
        return Ok(options);
    }
    let Some(ddi) = &options.make_ddi else {
        return Ok(options);
    };
    if let crate::shell::ddi::DefinitionSet::Dir(dir) = crate::shell::ddi::find(ddi)? {
        options.definitions = vec![dir];
    }
    Ok(options)
}

/// The certificate, then the private key, as upstream loads them after all option
/// checks; engines and providers are not available here.
fn load_signing_material(mut options: Options) -> Result<Options, String> {
    use crate::pure::cli::KeySource;
    if options.help
        || options.version
        || options.json_help
        || options.list_devices
        || options.list_tpm2_devices
    {
        return Ok(options);
    }
    if let Some(cert) = &options.certificate {
        if options.certificate_source != KeySource::File {
            return Err(format!(
                "Failed to load X.509 certificate from {cert}: --certificate-source= other than 'file' is not supported yet by this repart."
            ));
        }
        options.certificate_der = Some(crate::shell::signing::load_certificate(&absolute(
            Path::new(cert),
        ))?);
    }
    if let Some(key) = &options.private_key {
        if options.private_key_source != KeySource::File {
            return Err(format!(
                "Failed to load private key from {key}: --private-key-source= other than 'file' is not supported yet by this repart."
            ));
        }
        let mut warnings = Vec::new();
        let loaded =
            crate::shell::signing::load_private_key(&absolute(Path::new(key)), &mut warnings);
        warnings.iter().for_each(|w| tracing::warn!("{w}"));
        options.private_key_der = Some(loaded?);
    }
    Ok(options)
}

/// Removes an image made by `--empty=create` unless the run succeeded.
struct CreatedImage {
    path: PathBuf,
    keep: bool,
    _tracked: crate::shell::signal_cleanup::Tracked,
}

impl Drop for CreatedImage {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn seed(options: &Options) -> Result<Uuid, Failure> {
    match options.seed {
        Seed::Fixed(u) => Ok(u),
        Seed::Random => Ok(Uuid::new_v4()),
        Seed::MachineId => {
            let machine_id =
                crate::shell::root_paths::join(options.root.as_deref(), "/etc/machine-id");
            let text = std::fs::read_to_string(machine_id).unwrap_or_default();
            let text = text.trim();
            if text.is_empty() || text == "uninitialized" {
                tracing::info!("No machine ID set, using randomized partition UUIDs.");
                return Ok(Uuid::new_v4());
            }
            Uuid::try_parse(text).map_err(|_| fail("Failed to parse machine ID of image."))
        }
    }
}

fn load_definitions(
    options: &Options,
    env: &Environment,
    sys: &config::specifier::SystemInfo,
) -> Result<Vec<Definition>, Failure> {
    let root = options.root.as_ref().map(|r| absolute(r));
    let load = load_options(options, env, root);
    let mut diags = Vec::new();
    let result = match &options.make_ddi {
        // A built-in set (no installed directory was found for the type).
        Some(ddi) if options.definitions.is_empty() => {
            crate::shell::ddi::load_builtin(ddi, &load, sys, &mut diags)
        }
        _ => definition_files::load_definitions(&load, sys, &mut diags),
    };
    crate::shell::log::emit_all(&diags);
    result.map_err(fail)
}

fn load_options(
    options: &Options,
    env: &Environment,
    root: Option<PathBuf>,
) -> config::LoadOptions {
    let partition_filter = match (&options.include_partitions, &options.exclude_partitions) {
        (Some(list), _) => Some(config::PartitionFilter::Include(list.clone())),
        (None, Some(list)) => Some(config::PartitionFilter::Exclude(list.clone())),
        (None, None) => None,
    };
    config::LoadOptions {
        definitions: definition_files::normalize_definition_dirs(&options.definitions, &env.cwd),
        root,
        architecture: options.architecture,
        partition_filter,
        offline: options.offline,
        running_as_root: env.running_as_root,
        have_private_key: options.private_key_der.is_some(),
        have_certificate: options.certificate_der.is_some(),
        utf8: env.utf8,
        fstype_override: env.fstype_override.clone(),
        fstype_override_by_designator: env.fstype_override_by_designator.clone(),
    }
}

fn render_options(options: &Options, env: &Environment, node: &str) -> RenderOptions {
    RenderOptions {
        utf8: env.utf8,
        columns: env.columns,
        header: !options.no_legend,
        debug: env.debug(),
        node: node.to_string(),
        tty: env.stdout_tty,
        // Colors do not need a terminal: SYSTEMD_COLORS=1 forces them into a pipe.
        colors: env.color_mode.enabled(),
        color_mode: env.color_mode,
        underline: env.underline,
    }
}

/// The main sequence: each step asks the planner for one stage and hands it on.
fn execute(
    options: &Options,
    env: &Environment,
    created: &mut Option<CreatedImage>,
) -> Result<(), Failure> {
    let seed = seed(options)?;
    let root = options.root.as_ref().map(|r| absolute(r));
    let sys = config::specifier::SystemInfo::from_host(root.as_deref(), &env.tmp_vars);
    let definitions = read_definitions(options, env, &sys)?;
    let node = target_node(options, env)?;
    let mut target = open(options, &node, created)?;
    if let Some(SizeRequest::Bytes(bytes)) = options.size {
        grow_file(&mut target, bytes, options)?;
    }
    let state = load_state(&mut target, options)?;
    let from_scratch = decide_scratch(options, &state, &node_name(&target))?;
    if !from_scratch && matches!(&state.label, Label::Gpt(t) if t.disk_guid.is_nil()) {
        // Upstream replaces an all-zero disk GUID by a derived one, which libfdisk
        // refuses; it fails cleanly, before anything else happens.
        return Err(fail("Failed to set GPT disk label: Invalid argument"));
    }

    // Stage 1: definitions matched to the partitions on the disk.
    let draft = Draft::new(&definitions, &state, from_scratch, seed);
    if options.can_factory_reset {
        // Exit status only: 0 when a factory reset would remove something.
        return match draft.factory_reset_partitions().is_empty() {
            true => Err(Failure { code: EXIT_FAILURE }),
            false => Ok(()),
        };
    }
    let (state, draft) = factory_reset_step(&mut target, state, draft, options, env)?;

    // Stage 2: UUIDs and labels, drawn once (a taken seed-derived UUID falls back to
    // a random one, the same wherever it is used).
    let fallback_uuids: Vec<Uuid> = definitions.iter().map(|_| Uuid::new_v4()).collect();
    let (mut identified, uuid_diags) = draft.identify(&fallback_uuids);
    crate::shell::log::emit_all(&uuid_diags);

    // Stage 3: block content (CopyBlocks= sources, Minimize= images, verity trees).
    let copy_source = options
        .copy_source
        .as_ref()
        .or(options.root.as_ref())
        .map(|p| absolute(p));
    let settings = JobSettings {
        env: &env.fs,
        copy_source: copy_source.as_deref(),
        fs_sector_size: policy::fs_sector_size(
            options.sector_size,
            (target.kind == TargetKind::BlockDevice).then_some(state.sector_size),
        ),
        discard: options.discard,
        grain: crate::pure::plan::geometry::grain(state.sector_size),
    };
    let new_identities = identified.new_identities();
    let mut images =
        block_sources::open_copy_blocks(&definitions, &new_identities, root.as_deref())
            .map_err(fail)?;
    write_tables(options, &definitions, &identified, copy_source.as_deref())?;
    let reserved = identified.reserve_verity_hash_sizes(settings.fs_sector_size);
    crate::shell::log::emit_all(&reserved);
    let new_identities = identified.new_identities();
    let root_hashes = block_sources::minimize_all(
        &definitions,
        &new_identities,
        &settings,
        seed,
        policy::loop_use(options.offline),
        state.sector_size,
        &mut images,
    )
    .map_err(fail)?;
    drop(new_identities);
    let measured = identified.measure(&contents(&images, &root_hashes));
    let (state, extend_table) = size_auto_step(&mut target, state, &measured, options)?;

    // Stage 4: the placed plan, shown, written, split and shown again.
    let mut plan = place(&measured, &state, extend_table)?;
    let name = node_name(&target);
    let render = render_options(options, env, &name);
    if options.json == JsonMode::Off && options.pretty != Some(false) {
        if plan.partitions.is_empty() && plan.dropped == 0 {
            tracing::info!("Empty partition table.");
        }
        print!("{}", output::table_and_bar(&plan, &render));
    }
    let existing = match &state.label {
        Label::Gpt(table) if !plan.from_scratch => table.partitions.clone(),
        _ => Vec::new(),
    };
    let work = apply::Work {
        definitions: &definitions,
        existing: &existing,
        images: &images,
        settings: &settings,
        options,
        seed,
        root_hashes: &root_hashes,
        tpm2_device_env: env.tpm2_device.as_deref(),
    };
    write_changes(&mut plan, &work, &mut target)?;
    if options.split {
        split_step(&mut plan, &definitions, options, &target, &sys)?;
    }
    match options.json {
        // The late dump: the table again, now with the root hashes (spec §7.1).
        JsonMode::Off if options.pretty != Some(false) && plan.has_root_hash() => {
            print!("{}", output::text_table(&plan, &render));
        }
        JsonMode::Off => {}
        JsonMode::Short => print!("{}", output::json(&plan, &render, false)),
        JsonMode::Pretty => print!("{}", output::json(&plan, &render, true)),
    }
    Ok(())
}

/// `--copy-from=` partitions, then the repart.d definitions.
fn read_definitions(
    options: &Options,
    env: &Environment,
    sys: &config::specifier::SystemInfo,
) -> Result<Vec<Definition>, Failure> {
    let filter = load_options(options, env, None).partition_filter;
    let mut definitions =
        crate::shell::copy_from::definitions(&options.copy_from, filter.as_ref()).map_err(fail)?;
    definitions.extend(load_definitions(options, env, sys)?);
    Ok(definitions)
}

/// The device or image to work on: the argument, else the disk backing the root file
/// system (none found: exit 76).
fn target_node(options: &Options, env: &Environment) -> Result<String, Failure> {
    if let Some(node) = options.node.clone() {
        return Ok(node);
    }
    let root = crate::shell::root_device::default_root(options.root.as_deref(), env.in_initrd);
    match crate::shell::root_device::root_block_device(&root) {
        Some(device) => Ok(device.display().to_string()),
        None => {
            tracing::error!("Failed to discover root block device.");
            Err(Failure {
                code: EXIT_NO_DEVICE,
            })
        }
    }
}

/// Opens (or with `--empty=create` creates) the target, locked.
fn open(
    options: &Options,
    node: &str,
    created: &mut Option<CreatedImage>,
) -> Result<Target, Failure> {
    let create = options.empty == EmptyMode::Create;
    // Growing the file with --size= (a number or auto) happens even in dry-run mode,
    // so it needs write access.
    let writable = !options.dry_run || create || options.size.is_some();
    let open = TargetOptions {
        writable,
        create,
        lock: if options.dry_run {
            LockMode::Shared
        } else {
            LockMode::Exclusive
        },
    };
    let target = open_target(Path::new(node), &open).map_err(fail)?;
    if create {
        *created = Some(CreatedImage {
            _tracked: crate::shell::signal_cleanup::track(&absolute(Path::new(node))),
            path: PathBuf::from(node),
            keep: false,
        });
    }
    Ok(target)
}

/// A requested factory reset: the partitions the draft names are removed and the
/// table reloaded; the definitions are then matched anew (a new draft).
fn factory_reset_step<'a>(
    target: &mut Target,
    state: DiskState,
    draft: Draft<'a>,
    options: &Options,
    env: &Environment,
) -> Result<(DiskState, Draft<'a>), Failure> {
    if draft.from_scratch() {
        return Ok((state, draft));
    }
    let request = crate::shell::factory_reset::requested(options.factory_reset, env.in_initrd);
    if request == crate::shell::factory_reset::Request::No {
        return Ok((state, draft));
    }
    let removed = draft.factory_reset_partitions();
    match factory_reset(target, &state, &removed, request, options)? {
        Some(reloaded) => {
            let draft = draft.redraft(&reloaded);
            Ok((reloaded, draft))
        }
        None => Ok((state, draft)),
    }
}

/// What stage 3 records per definition: block copy sizes, `Minimize=` sizes and the
/// root hashes `Minimize=` found.
fn contents(
    images: &[Option<block_sources::BlockSource>],
    root_hashes: &[Option<[u8; 32]>],
) -> Vec<Content> {
    images
        .iter()
        .zip(root_hashes)
        .map(|(image, root_hash)| Content {
            copy_size: image.as_ref().and_then(|m| m.planned_size()),
            minimized_size: image.as_ref().and_then(|m| m.minimized_size()),
            root_hash: *root_hash,
        })
        .collect()
}

/// `--size=auto`: grows the image to what the measured partitions need and reloads
/// it. Returns the state to place on and whether the table's end moves to the end of
/// the device.
fn size_auto_step(
    target: &mut Target,
    state: DiskState,
    measured: &Measured,
    options: &Options,
) -> Result<(DiskState, bool), Failure> {
    let extend_table = !options.dry_run;
    if options.size != Some(SizeRequest::Auto) {
        return Ok((state, extend_table));
    }
    let wanted = measured.minimal_disk_size();
    if target.created {
        tracing::info!(
            "Automatically determined minimal disk image size as {}.",
            format_bytes(wanted)
        );
    } else {
        tracing::info!(
            "Automatically determined minimal disk image size as {}, current image size is {}.",
            format_bytes(wanted),
            format_bytes(state.total_bytes)
        );
    }
    let before = target.total_bytes;
    grow_file(target, wanted, options)?;
    let state = load_state(target, options)?;
    // Upstream reloads the table after --size=auto grew the image, and that reload
    // plans with the new space even in a dry run (a fixed --size= does not: the
    // table is loaded once, after growing). Differential seeds 711 and 200241.
    Ok((state, extend_table || target.total_bytes > before))
}

/// Stage 4, with upstream's messages when the partitions do not fit.
fn place(measured: &Measured, state: &DiskState, extend_table: bool) -> Result<Plan, Failure> {
    match measured.place(state, extend_table) {
        Ok((plan, diags)) => {
            crate::shell::log::emit_all(&diags);
            Ok(plan)
        }
        Err((err, diags)) => {
            crate::shell::log::emit_all(&diags);
            tracing::error!("{err}");
            tracing::info!("{}", err.size_hint());
            if let Some(detail) = err.shortfall_detail() {
                tracing::info!("{detail}");
            }
            Err(Failure { code: EXIT_FAILURE })
        }
    }
}

/// `--split=yes`: each partition with a `SplitName=` into its own file (removed again
/// when one fails).
fn split_step(
    plan: &mut Plan,
    definitions: &[Definition],
    options: &Options,
    target: &Target,
    sys: &config::specifier::SystemInfo,
) -> Result<(), Failure> {
    let mut made = Vec::new();
    let result = crate::shell::split::split(
        plan,
        definitions,
        &options.defer_partitions,
        &node_name(target),
        &target.file,
        sys,
        &mut made,
    );
    if let Err(e) = result {
        for path in made {
            let _ = std::fs::remove_file(path);
        }
        return Err(fail(e));
    }
    Ok(())
}

/// Removes the partitions a factory reset asks for and reloads the table.
fn factory_reset(
    target: &mut Target,
    state: &DiskState,
    removed: &[u32],
    request: crate::shell::factory_reset::Request,
    options: &Options,
) -> Result<Option<DiskState>, Failure> {
    if options.dry_run {
        tracing::info!("Refusing to factory reset, please re-run with --dry-run=no.");
        return Ok(None);
    }
    tracing::info!("Applying factory reset.");
    let Label::Gpt(table) = &state.label else {
        return Ok(None);
    };
    if removed.is_empty() {
        tracing::info!("Factory reset requested, but no partitions to delete found.");
        return Ok(None);
    }
    for partno in removed {
        tracing::info!("Removing partition {partno} for factory reset.");
    }
    crate::shell::factory_reset::remove_partitions(target, table, state.sector_size, removed)
        .map_err(fail)?;
    tracing::info!("Successfully deleted {} partitions.", removed.len());
    if request == crate::shell::factory_reset::Request::EfiVariable {
        match crate::shell::factory_reset::unset_efi_variable() {
            Ok(()) => tracing::info!("Successfully unset EFI variable FactoryReset."),
            Err(e) => tracing::warn!(
                "Failed to remove EFI variable FactoryReset, ignoring: {}",
                crate::shell::disk::strerror(&e)
            ),
        }
    }
    load_state(target, options).map(Some)
}

/// `--generate-fstab=`/`--generate-crypttab=`: written below the copy source, before
/// any file system is made (upstream's order).
fn write_tables(
    options: &Options,
    definitions: &[Definition],
    identified: &Identified,
    base: Option<&Path>,
) -> Result<(), Failure> {
    // Relative paths are taken from the working directory, as upstream does (joining
    // them to "/" wrote a relative --generate-fstab= to the host's root directory).
    let uuids: Vec<Option<Uuid>> = identified
        .identities()
        .into_iter()
        .map(|i| i.map(|identity| identity.uuid))
        .collect();
    if let Some(path) = options.generate_fstab.as_deref().map(absolute) {
        let text = crate::pure::fstab::fstab(definitions, &uuids);
        write_table(text, &path, base, "MountPoint=")?;
    }
    if let Some(path) = options.generate_crypttab.as_deref().map(absolute) {
        let text = crate::pure::fstab::crypttab(definitions, &uuids);
        write_table(text, &path, base, "EncryptedVolume=")?;
    }
    Ok(())
}

/// Writes one generated table (`None`: nothing eligible, upstream's notice naming the
/// key that would have made a partition eligible).
fn write_table(
    text: Option<String>,
    path: &Path,
    base: Option<&Path>,
    key: &str,
) -> Result<(), Failure> {
    let Some(text) = text else {
        tracing::info!(
            "{key} is not specified for any eligible partitions, not generating {}",
            path.display()
        );
        return Ok(());
    };
    let full = crate::shell::root_paths::join(Some(base.unwrap_or(Path::new("/"))), path);
    write_atomically(&full, &text).map_err(|e| {
        fail(format!(
            "Failed to open temporary file for {}: {}",
            full.display(),
            crate::shell::disk::strerror(&e)
        ))
    })?;
    tracing::info!("{} written.", full.display());
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("/"));
    // Upstream creates the table with mode 0640 (minus the umask), not 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(".#fstab")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o640))
        .tempfile_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes the plan, recording in it the verity root hashes computed while writing.
fn write_changes(plan: &mut Plan, work: &apply::Work, target: &mut Target) -> Result<(), Failure> {
    let options = work.options;
    if !plan.has_changes() {
        tracing::info!("No changes.");
        return Ok(());
    }
    if options.dry_run {
        crate::shell::log::notice("Refusing to repartition, please re-run with --dry-run=no.");
        return Ok(());
    }
    tracing::info!("Applying changes to {}.", node_name(target));
    apply::apply(plan, work, target).map_err(fail)?;
    tracing::info!("All done.");
    Ok(())
}

fn node_name(target: &Target) -> String {
    target.node.display().to_string()
}

/// The sector size libfdisk assumes for an image file when the grown file's table is
/// rewritten.
const RESIZE_SECTOR_SIZE: u64 = 512;

fn grow_file(target: &mut Target, bytes: u64, options: &Options) -> Result<(), Failure> {
    let name = node_name(target);
    if target.kind == TargetKind::BlockDevice {
        return Err(fail(format!("Cannot resize block device '{name}'.")));
    }
    let current = target.total_bytes;
    if i64::try_from(bytes).is_err() {
        return Err(fail("Image would grow too large, refusing."));
    }
    if current >= bytes && !(target.created && current == 0) {
        tracing::info!(
            "File '{name}' already is of requested size or larger, not growing. ({} >= {})",
            format_bytes(current),
            format_bytes(bytes)
        );
        return Ok(());
    }
    if options.discard {
        target.grow_by_truncation(bytes).map_err(fail)?;
    } else {
        target.grow_by_allocation(bytes).map_err(fail)?;
    }
    if target.created && current == 0 {
        if options.discard {
            tracing::info!("Sized '{name}' to {}.", format_bytes(bytes));
        } else {
            tracing::info!("Allocated {} for '{name}'.", format_bytes(bytes));
        }
        return Ok(());
    }
    tracing::info!(
        "File '{name}' grown from {} to {} by {}.",
        format_bytes(current),
        format_bytes(bytes),
        if options.discard {
            "truncation"
        } else {
            "allocation"
        }
    );
    // An existing GPT is rewritten at once so that it covers the new size, even in a
    // dry run. Upstream does this with libfdisk's default view of an image file,
    // 512-byte sectors, whatever --sector-size= says: a GPT with larger sectors is
    // then only a protective MBR, reported as resized but left as it is (and the
    // dry-run plan does not get the new space).
    match target.read_label(RESIZE_SECTOR_SIZE) {
        Ok(Label::Gpt(_)) => {
            let total = target.total_bytes;
            crate::shell::disk::gpt::extend_table(&mut target.file, total, RESIZE_SECTOR_SIZE)
                .map_err(fail)?;
            tracing::info!("Resized partition table.");
        }
        Ok(Label::Other) => tracing::info!("Resized partition table."),
        Ok(Label::None) | Err(_) => {}
    }
    Ok(())
}

fn load_state(target: &mut Target, options: &Options) -> Result<DiskState, Failure> {
    let block_device = target.kind == TargetKind::BlockDevice;
    let sector_size = match policy::sector_size(options.sector_size, options.empty, block_device) {
        Some(s) => s,
        None => target.default_sector_size().map_err(fail)?,
    };
    let label = if target.total_bytes == 0 {
        Label::None
    } else {
        match target.read_label(sector_size) {
            Ok(label) => label,
            Err(e) => policy::unreadable_label(options.empty).ok_or_else(|| fail(e))?,
        }
    };
    Ok(DiskState {
        sector_size,
        total_bytes: target.total_bytes,
        label,
    })
}

fn decide_scratch(options: &Options, state: &DiskState, name: &str) -> Result<bool, Failure> {
    policy::from_scratch(options.empty, &state.label).map_err(|refusal| {
        crate::shell::log::notice(&format!("Disk {name} {refusal}"));
        Failure {
            code: EXIT_LABEL_REFUSED,
        }
    })
}
