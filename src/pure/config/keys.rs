//! The 35 `[Partition]` keys (spec §2, §2.1): how each value is parsed into a
//! [`Definition`] under construction, with upstream's warning/notice/fatal messages.
//!
//! Pure: assignments in, an updated [`Draft`] and diagnostics out.

use uuid::Uuid;

use super::ini::{Assignment, located};
use super::specifier::{self, LABEL_MAX, PATH_MAX, SystemInfo};
use super::values::{
    self, Errno, Extract, cescape, check_path, extract_first_word, extract_many, parse_boolean,
    path_problem_message, string_is_safe,
};
use super::{
    ConfigError, CopyBlocks, Definition, Diagnostic, EncryptMode, Level, LoadOptions, Minimize,
    UuidSetting, VerityMode,
};
use crate::pure::fstype::FileSystem;
use crate::pure::gpt_types::PartitionType;
use crate::pure::size::{self, SizeError};

/// All keys of the `[Partition]` section at v257 (spec §2 lists 35 plus `SupplementFor=`).
pub const KEYS: [&str; 36] = [
    "Type",
    "Label",
    "UUID",
    "Priority",
    "Weight",
    "PaddingWeight",
    "SizeMinBytes",
    "SizeMaxBytes",
    "PaddingMinBytes",
    "PaddingMaxBytes",
    "FactoryReset",
    "CopyBlocks",
    "Format",
    "CopyFiles",
    "ExcludeFiles",
    "ExcludeFilesTarget",
    "MakeDirectories",
    "MakeSymlinks",
    "Subvolumes",
    "DefaultSubvolume",
    "Encrypt",
    "Verity",
    "VerityMatchKey",
    "VerityDataBlockSizeBytes",
    "VerityHashBlockSizeBytes",
    "Flags",
    "ReadOnly",
    "NoAuto",
    "GrowFileSystem",
    "SplitName",
    "Minimize",
    "MountPoint",
    "EncryptedVolume",
    "Compression",
    "CompressionLevel",
    "SupplementFor",
];

/// A definition being parsed: the [`Definition`] plus facts only needed until validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The values parsed so far (the type is a nil placeholder until `Type=` is seen).
    pub def: Definition,
    /// Whether `Type=` was set.
    pub has_type: bool,
    /// Raw `SplitName=` (`None` = not set or reset), resolved during validation.
    pub split_name: Option<String>,
}

impl Draft {
    /// An empty draft for the file at `path`.
    pub fn new(path: std::path::PathBuf) -> Draft {
        Draft {
            def: Definition::new(path, PartitionType::from_uuid(Uuid::nil())),
            has_type: false,
            split_name: None,
        }
    }
}

/// What a key parser needs besides the value.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The file being parsed, as printed in messages.
    pub path: &'a str,
    /// Command-line facts.
    pub opts: &'a LoadOptions,
    /// Specifier sources.
    pub sys: &'a SystemInfo,
}

/// Collects messages for one assignment.
struct Log<'a, 'b> {
    ctx: Ctx<'a>,
    line: u32,
    diags: &'b mut Vec<Diagnostic>,
}

impl Log<'_, '_> {
    fn at(&mut self, level: Level, message: &str) {
        self.diags.push(Diagnostic {
            level,
            message: located(self.ctx.path, self.line, message),
        });
    }
    fn warn(&mut self, message: &str) {
        self.at(Level::Warning, message);
    }
    /// Logs `message` at error level and returns upstream's "Failed to parse file" error.
    fn fatal(&mut self, message: &str, errno: Errno) -> ConfigError {
        self.at(Level::Error, message);
        ConfigError {
            message: located(
                self.ctx.path,
                self.line,
                &format!("Failed to parse file: {}", errno.text()),
            ),
        }
    }
    /// The generic `Failed to parse K=V, ignoring: %m` warning.
    fn parse_error(&mut self, key: &str, value: &str, errno: Errno) {
        self.warn(&format!(
            "Failed to parse {key}={value}, ignoring: {}",
            errno.text()
        ));
    }
    /// Checks a path, warning with `key`'s wording; `None` if rejected.
    fn path(&mut self, key: &str, path: &str, keep_trailing: bool) -> Option<String> {
        match check_path(path, keep_trailing) {
            Ok(p) => Some(p),
            Err(problem) => {
                self.warn(&path_problem_message(key, path, &problem));
                None
            }
        }
    }
    /// Expands specifiers for a path-like value; warns `Failed to expand specifiers in
    /// {what}, ignoring: {shown}` on failure.
    fn expand(&mut self, text: &str, what: &str, shown: &str) -> Option<String> {
        match specifier::expand(text, PATH_MAX, self.ctx.sys) {
            Ok(v) => Some(v),
            Err(_) => {
                self.warn(&format!(
                    "Failed to expand specifiers in {what}, ignoring: {shown}"
                ));
                None
            }
        }
    }
}

const WHITESPACE: &str = " \t\n\r";
const UNQUOTE: Extract = Extract {
    unquote: true,
    cunescape: false,
    dont_coalesce: false,
};
const COLON_FIELDS: Extract = Extract {
    unquote: false,
    cunescape: true,
    dont_coalesce: true,
};
const QUOTED_COLON_FIELDS: Extract = Extract {
    unquote: true,
    cunescape: true,
    dont_coalesce: true,
};

/// Applies one assignment to `draft`; `Err` aborts the whole run.
pub fn apply(
    draft: &mut Draft,
    a: &Assignment,
    ctx: Ctx<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), ConfigError> {
    let mut log = Log {
        ctx,
        line: a.line,
        diags,
    };
    let v = a.value.as_str();
    let def = &mut draft.def;
    match a.key.as_str() {
        "Type" => {
            let Some(mut t) = PartitionType::parse(v) else {
                let message = format!("Failed to parse partition type: {v}");
                return Err(log.fatal(&message, Errno::Invalid));
            };
            if let Some(arch) = ctx.opts.architecture {
                t = t.with_architecture(arch);
            }
            def.partition_type = t;
            draft.has_type = true;
        }
        "Label" => parse_label(def, v, &mut log),
        "UUID" => match v {
            "" => def.uuid = None,
            "null" => def.uuid = Some(UuidSetting::Null),
            _ => match crate::pure::gpt_types::parse_id128(v) {
                Some(u) => def.uuid = Some(UuidSetting::Explicit(u)),
                None => log.warn(&format!("Failed to parse 128-bit ID/UUID, ignoring: {v}")),
            },
        },
        "Priority" => match values::parse_i32(v) {
            Ok(p) => def.priority = p,
            Err(e) => log.parse_error("Priority", v, e),
        },
        "Weight" => parse_weight(&mut def.weight, v, &mut log),
        "PaddingWeight" => parse_weight(&mut def.padding_weight, v, &mut log),
        "SizeMinBytes" => def.size_min = Some(parse_size4096(&a.key, v, false, &mut log)?),
        "SizeMaxBytes" => def.size_max = Some(parse_size4096(&a.key, v, true, &mut log)?),
        "PaddingMinBytes" => def.padding_min = Some(parse_size4096(&a.key, v, false, &mut log)?),
        "PaddingMaxBytes" => def.padding_max = Some(parse_size4096(&a.key, v, true, &mut log)?),
        "FactoryReset" => match parse_boolean(v) {
            Some(b) => def.factory_reset = b,
            None => log.parse_error("FactoryReset", v, Errno::Invalid),
        },
        "CopyBlocks" => parse_copy_blocks(def, v, &mut log),
        "Format" => parse_format(def, v, &mut log),
        "CopyFiles" => parse_copy_files(def, v, &mut log)?,
        "ExcludeFiles" => parse_exclude(&mut def.exclude_files, "ExcludeFiles", v, &mut log),
        "ExcludeFilesTarget" => parse_exclude(
            &mut def.exclude_files_target,
            "ExcludeFilesTarget",
            v,
            &mut log,
        ),
        "MakeDirectories" => parse_make_directories(def, v, &mut log),
        "MakeSymlinks" => parse_make_symlinks(def, v, &mut log),
        "Subvolumes" => parse_subvolumes(def, v, &mut log),
        "DefaultSubvolume" => {
            if v.is_empty() {
                def.default_subvolume = None;
            } else if let Some(p) = log
                .expand(v, "DefaultSubvolume= parameter", v)
                .and_then(|e| log.path("DefaultSubvolume", &e, false))
            {
                def.default_subvolume = Some(p);
            }
        }
        "Encrypt" => match parse_encrypt(v) {
            Some(m) => def.encrypt = m,
            None => log.parse_error("Encrypt", v, Errno::Invalid),
        },
        "Verity" => match v {
            "" | "off" => def.verity = VerityMode::Off,
            "data" => def.verity = VerityMode::Data,
            "hash" => def.verity = VerityMode::Hash,
            "signature" => def.verity = VerityMode::Signature,
            _ => log.parse_error("Verity", v, Errno::Invalid),
        },
        "VerityMatchKey" => def.verity_match_key = non_empty(v),
        "VerityDataBlockSizeBytes" => {
            def.verity_data_block_size = Some(parse_block_size(v, &mut log)?);
        }
        "VerityHashBlockSizeBytes" => {
            def.verity_hash_block_size = Some(parse_block_size(v, &mut log)?);
        }
        "Flags" => match values::parse_u64(v) {
            Ok(f) => def.flags = f,
            Err(_) => log.warn(&format!("Failed to parse Flags= value, ignoring: {v}")),
        },
        "ReadOnly" => parse_tristate(&mut def.read_only, &a.key, v, &mut log),
        "NoAuto" => parse_tristate(&mut def.no_auto, &a.key, v, &mut log),
        "GrowFileSystem" => parse_tristate(&mut def.growfs, &a.key, v, &mut log),
        "SplitName" => draft.split_name = non_empty(v),
        "Minimize" => match parse_minimize(v) {
            Some(m) => def.minimize = m,
            None => log.parse_error("Minimize", v, Errno::Invalid),
        },
        "MountPoint" => parse_mount_point(def, v, &mut log),
        "EncryptedVolume" => parse_encrypted_volume(def, v, &mut log),
        "Compression" => parse_safe_string(&mut def.compression, v, &mut log),
        "CompressionLevel" => parse_safe_string(&mut def.compression_level, v, &mut log),
        "SupplementFor" => def.supplement_for = non_empty(v),
        _ => {}
    }
    Ok(())
}

fn non_empty(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

fn parse_label(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    // The empty label is a valid label (it does not reset to the default).
    let Ok(resolved) = specifier::expand(v, LABEL_MAX, log.ctx.sys) else {
        log.warn(&format!(
            "Failed to expand specifiers in Label=, ignoring: {v}"
        ));
        return;
    };
    if resolved.encode_utf16().count() > LABEL_MAX {
        log.warn(&format!(
            "Partition label too long for GPT table, ignoring: {v}"
        ));
        return;
    }
    def.label = Some(resolved);
}

fn parse_weight(target: &mut u32, v: &str, log: &mut Log<'_, '_>) {
    match values::parse_u32(v) {
        Ok(w) if w > 1_000_000 => log.warn(&format!(
            "Weight needs to be in range 0…10000000, ignoring: {w}"
        )),
        Ok(w) => *target = w,
        Err(_) => log.warn(&format!("Failed to parse weight value, ignoring: {v}")),
    }
}

fn size_errno(e: &SizeError) -> Errno {
    match e {
        SizeError::Range => Errno::Range,
        _ => Errno::Invalid,
    }
}

/// Sizes rounded to 4096: "Max" keys up, "Min" keys down, with a NOTICE when changed.
fn parse_size4096(
    key: &str,
    v: &str,
    round_up: bool,
    log: &mut Log<'_, '_>,
) -> Result<u64, ConfigError> {
    let parsed = size::parse_size(v)
        .map_err(|e| log.fatal(&format!("Failed to parse size value: {v}"), size_errno(&e)))?;
    let rounded = if round_up {
        size::round_up(parsed, 4096)
    } else {
        size::round_down(parsed, 4096)
    };
    if rounded != parsed {
        let arrow = if log.ctx.opts.utf8 { "→" } else { "->" };
        log.at(
            Level::Notice,
            &format!("Rounded {key}= size {parsed} {arrow} {rounded}, a multiple of 4096."),
        );
    }
    Ok(rounded)
}

fn parse_block_size(v: &str, log: &mut Log<'_, '_>) -> Result<u64, ConfigError> {
    let parsed = size::parse_size(v)
        .map_err(|e| log.fatal(&format!("Failed to parse size value: {v}"), size_errno(&e)))?;
    if !(512..=4096).contains(&parsed) {
        let message = format!("Value not between 512 and 4096: {v}");
        return Err(log.fatal(&message, Errno::Invalid));
    }
    if !parsed.is_power_of_two() {
        return Err(log.fatal(&format!("Value not a power of 2: {v}"), Errno::Invalid));
    }
    Ok(parsed)
}

fn parse_tristate(target: &mut Option<bool>, key: &str, v: &str, log: &mut Log<'_, '_>) {
    if v.is_empty() {
        *target = None;
    } else {
        match parse_boolean(v) {
            Some(b) => *target = Some(b),
            None => log.parse_error(key, v, Errno::Invalid),
        }
    }
}

fn parse_encrypt(v: &str) -> Option<EncryptMode> {
    match v {
        "" | "off" => Some(EncryptMode::Off),
        "key-file" => Some(EncryptMode::KeyFile),
        "tpm2" => Some(EncryptMode::Tpm2),
        "key-file+tpm2" => Some(EncryptMode::KeyFileTpm2),
        _ => parse_boolean(v).map(|b| {
            if b {
                EncryptMode::KeyFile
            } else {
                EncryptMode::Off
            }
        }),
    }
}

fn parse_minimize(v: &str) -> Option<Minimize> {
    match v {
        "" | "off" => Some(Minimize::Off),
        "best" => Some(Minimize::Best),
        "guess" => Some(Minimize::Guess),
        _ => parse_boolean(v).map(|b| if b { Minimize::Best } else { Minimize::Off }),
    }
}

fn parse_copy_blocks(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    match v {
        "" => def.copy_blocks = None,
        "auto" => def.copy_blocks = Some(CopyBlocks::Auto),
        _ => {
            if let Some(p) = log
                .expand(v, "CopyBlocks= source path", v)
                .and_then(|e| log.path("CopyBlocks", &e, false))
            {
                def.copy_blocks = Some(CopyBlocks::Path(p));
            }
        }
    }
}

fn parse_format(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    let mut value = v;
    if let Some(o) = log.ctx.opts.fstype_override.as_deref()
        && o != v
    {
        let message = format!("Overriding defined file system type '{v}' with '{o}'.");
        log.at(Level::Notice, &message);
        value = o;
    }
    if !values::filename_is_valid(value) {
        // Logged at error level, but not fatal (errno 0 upstream).
        log.at(
            Level::Error,
            &format!("File system type is not valid, refusing: {value}"),
        );
        return;
    }
    def.format = Some(FileSystem::from_name(value));
}

fn parse_copy_files(
    def: &mut Definition,
    v: &str,
    log: &mut Log<'_, '_>,
) -> Result<(), ConfigError> {
    let Ok((words, rest)) = extract_many(v, ":", COLON_FIELDS, 2) else {
        log.warn(&format!("Failed to extract source path: {v}"));
        return Ok(());
    };
    let mut words = words.into_iter();
    let Some(source) = words.next() else {
        log.warn(&format!("No argument specified: {v}"));
        return Ok(());
    };
    let target = words.next();
    if target.is_some() && rest.is_some_and(|r| !r.is_empty()) {
        return Err(log.fatal(&format!("Too many arguments: {v}"), Errno::Invalid));
    }
    let target = target.unwrap_or_else(|| source.clone());
    let Some(source) = log
        .expand(&source, "CopyFiles= source", v)
        .and_then(|s| log.path("CopyFiles", &s, false))
    else {
        return Ok(());
    };
    // Upstream prints a NULL pointer here, hence "(null)".
    let Some(target) = log
        .expand(&target, "CopyFiles= target", "(null)")
        .and_then(|t| log.path("CopyFiles", &t, false))
    else {
        return Ok(());
    };
    def.copy_files.push((source, target));
    Ok(())
}

/// Splits a whitespace list; `Err` is reported as `Invalid syntax, ignoring: {shown}`.
fn words(v: &str, shown: &str, log: &mut Log<'_, '_>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = Some(v);
    loop {
        match extract_first_word(rest, WHITESPACE, UNQUOTE) {
            Ok(Some((w, r))) => {
                out.push(w);
                rest = r;
            }
            Ok(None) => return out,
            Err(_) => {
                log.warn(&format!("Invalid syntax, ignoring: {shown}"));
                return out;
            }
        }
    }
}

fn parse_exclude(list: &mut Vec<String>, key: &str, v: &str, log: &mut Log<'_, '_>) {
    if v.is_empty() {
        list.clear();
        return;
    }
    // Upstream prints an exhausted pointer here, i.e. nothing after "ignoring: ".
    for w in words(v, "", log) {
        let what = format!("{key} path");
        if let Some(p) = log
            .expand(&w, &what, &w)
            .and_then(|e| log.path(key, &e, true))
        {
            list.push(p);
        }
    }
}

fn parse_make_directories(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    for w in words(v, v, log) {
        if let Some(p) = log
            .expand(&w, "MakeDirectories= parameter", &w)
            .and_then(|e| log.path("MakeDirectories", &e, false))
            && !def.make_directories.contains(&p)
        {
            def.make_directories.push(p);
        }
    }
}

fn parse_make_symlinks(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    for w in words(v, v, log) {
        let pair = extract_many(&w, ":", COLON_FIELDS, 2).ok();
        let Some((fields, _)) = pair.filter(|(f, _)| f.len() == 2) else {
            log.warn(&format!("Missing source or target in {w}, ignoring"));
            continue;
        };
        let (path, target) = (&fields[0], &fields[1]);
        // Upstream's message names Subvolumes= here.
        if let Some(p) = log
            .expand(path, "Subvolumes= parameter", path)
            .and_then(|e| log.path("MakeSymlinks", &e, false))
        {
            def.make_symlinks.push((p, target.clone()));
        }
    }
}

fn parse_subvolumes(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    for w in words(v, v, log) {
        let Ok((fields, _)) = extract_many(&w, ":", COLON_FIELDS, 2) else {
            log.warn(&format!("Invalid syntax, ignoring: {w}"));
            continue;
        };
        let Some(path) = fields.first() else {
            continue;
        };
        let Some(path) = log
            .expand(path, "Subvolumes= parameter", path)
            .and_then(|e| log.path("Subvolumes", &e, false))
        else {
            continue;
        };
        let mut read_only = false;
        if let Some(flags) = fields.get(1) {
            if flags.split(',').any(|f| f != "ro") {
                log.warn(&format!(
                    "Unknown subvolume flag in subvolume, ignoring: {flags}"
                ));
                continue;
            }
            read_only = true;
        }
        match def.subvolumes.iter_mut().find(|(p, _)| *p == path) {
            Some(entry) => entry.1 = read_only,
            None => def.subvolumes.push((path, read_only)),
        }
    }
}

fn parse_mount_point(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    if v.is_empty() {
        def.mount_points.clear();
        return;
    }
    let Ok((fields, rest)) = extract_many(v, ":", QUOTED_COLON_FIELDS, 2) else {
        log.warn(&format!("Invalid syntax in MountPoint=, ignoring: {v}"));
        return;
    };
    if rest.is_some_and(|r| !r.is_empty()) {
        log.warn(&format!("Too many arguments in MountPoint=, ignoring: {v}"));
        return;
    }
    let mut fields = fields.into_iter();
    let Some(where_) = fields.next() else {
        log.warn(&format!("Too few arguments in MountPoint=, ignoring: {v}"));
        return;
    };
    if let Some(p) = log.path("MountPoint", &where_, false) {
        // "/x:" keeps its empty option list: upstream's fstab line then ends
        // the options with a separator.
        let options = fields.next();
        def.mount_points.push((p, options));
    }
}

fn parse_encrypted_volume(def: &mut Definition, v: &str, log: &mut Log<'_, '_>) {
    if v.is_empty() {
        def.encrypted_volume = None;
        return;
    }
    let Ok((fields, rest)) = extract_many(v, ":", QUOTED_COLON_FIELDS, 3) else {
        log.warn(&format!(
            "Invalid syntax in EncryptedVolume=, ignoring: {v}"
        ));
        return;
    };
    if rest.is_some_and(|r| !r.is_empty()) {
        log.warn(&format!(
            "Too many arguments in EncryptedVolume=, ignoring: {v}"
        ));
        return;
    }
    let mut fields = fields.into_iter();
    let name = fields.next().unwrap_or_default();
    if !values::filename_is_valid(&name) {
        log.warn(&format!("Volume name {name} is not valid, ignoring"));
        return;
    }
    let keyfile = fields.next().filter(|k| !k.is_empty());
    let options = fields.next().filter(|o| !o.is_empty());
    def.encrypted_volume = Some((name, keyfile, options));
}

fn parse_safe_string(target: &mut Option<String>, v: &str, log: &mut Log<'_, '_>) {
    if v.is_empty() {
        *target = None;
    } else if !string_is_safe(v) {
        log.warn(&format!(
            "Specified string contains unsafe characters, ignoring: {}",
            cescape(v)
        ));
    } else if !v.is_ascii() {
        log.warn(&format!(
            "Specified string contains invalid ASCII characters, ignoring: {}",
            cescape(v)
        ));
    } else {
        *target = Some(v.to_string());
    }
}

#[cfg(test)]
pub(crate) mod tests;
