//! `--make-ddi=TYPE` (`-S`, `-C`, `-P`): the definition set a DDI type names.
//!
//! As upstream, `TYPE.repart.d/` is looked for in the `systemd/repart/definitions`
//! configuration directories (the first that has it wins, so a system can add or
//! override types). Without one, the three types upstream ships (`sysext`, `confext`,
//! `portable`) come from the copies built into this binary (definitions/ in the
//! source tree), named as if installed under `/usr/lib/systemd/repart/definitions`.

use std::path::{Path, PathBuf};

use crate::pure::config::definition::{self, SourceFile};
use crate::pure::config::specifier::SystemInfo;
use crate::pure::config::{ConfigError, Definition, Diagnostic, LoadOptions};

/// Where DDI definition sets are looked for, in order.
pub const SEARCH_DIRS: [&str; 4] = [
    "/etc/systemd/repart/definitions",
    "/run/systemd/repart/definitions",
    "/usr/local/lib/systemd/repart/definitions",
    "/usr/lib/systemd/repart/definitions",
];

/// Where the built-in sets appear to live.
const BUILTIN_DIR: &str = "/usr/lib/systemd/repart/definitions";

/// A built-in definition file: name and text.
type BuiltinFile = (&'static str, &'static str);

const SYSEXT: &[BuiltinFile] = &[
    (
        "10-root.conf",
        include_str!("../../definitions/sysext.repart.d/10-root.conf"),
    ),
    (
        "20-root-verity.conf",
        include_str!("../../definitions/sysext.repart.d/20-root-verity.conf"),
    ),
    (
        "30-root-verity-sig.conf",
        include_str!("../../definitions/sysext.repart.d/30-root-verity-sig.conf"),
    ),
];

const CONFEXT: &[BuiltinFile] = &[
    (
        "10-root.conf",
        include_str!("../../definitions/confext.repart.d/10-root.conf"),
    ),
    (
        "20-root-verity.conf",
        include_str!("../../definitions/confext.repart.d/20-root-verity.conf"),
    ),
    (
        "30-root-verity-sig.conf",
        include_str!("../../definitions/confext.repart.d/30-root-verity-sig.conf"),
    ),
];

const PORTABLE: &[BuiltinFile] = &[
    (
        "10-root.conf",
        include_str!("../../definitions/portable.repart.d/10-root.conf"),
    ),
    (
        "20-root-verity.conf",
        include_str!("../../definitions/portable.repart.d/20-root-verity.conf"),
    ),
    (
        "30-root-verity-sig.conf",
        include_str!("../../definitions/portable.repart.d/30-root-verity-sig.conf"),
    ),
];

/// The definition set of a DDI type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionSet {
    /// An installed `TYPE.repart.d/` directory, read like `--definitions=`.
    Dir(PathBuf),
    /// One of the sets built into this binary (by DDI type).
    Builtin(String),
}

fn builtin_files(ddi: &str) -> Option<&'static [BuiltinFile]> {
    match ddi {
        "sysext" => Some(SYSEXT),
        "confext" => Some(CONFEXT),
        "portable" => Some(PORTABLE),
        _ => None,
    }
}

/// Finds the definition set of `ddi` (checked to be a valid file name), or upstream's
/// error.
pub fn find(ddi: &str) -> Result<DefinitionSet, String> {
    let name = format!("{ddi}.repart.d");
    for dir in SEARCH_DIRS {
        let path = Path::new(dir).join(&name);
        // upstream's access("DIR/TYPE.repart.d/", F_OK): only a directory (or a link to one).
        if path.is_dir() {
            return Ok(DefinitionSet::Dir(path));
        }
    }
    match builtin_files(ddi) {
        Some(_) => Ok(DefinitionSet::Builtin(ddi.to_string())),
        None => Err(format!(
            "DDI type '{ddi}' is not defined: No such file or directory"
        )),
    }
}

/// Parses and checks a built-in set like the files of a definitions directory
/// (no drop-ins: nothing can be installed next to a built-in file).
pub fn load_builtin(
    ddi: &str,
    opts: &LoadOptions,
    sys: &SystemInfo,
    diags: &mut Vec<Diagnostic>,
) -> Result<Vec<Definition>, ConfigError> {
    let dir = Path::new(BUILTIN_DIR).join(format!("{ddi}.repart.d"));
    let mut defs = Vec::new();
    for (name, text) in builtin_files(ddi).unwrap_or_default() {
        let path = dir.join(name);
        let files = [SourceFile {
            path: path.clone(),
            content: text.as_bytes().to_vec(),
        }];
        if let Some(def) = definition::parse_definition(path, &files, Vec::new(), opts, sys, diags)?
        {
            defs.push(def);
        }
    }
    definition::check_set(&defs)?;
    Ok(defs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sets_are_upstreams_layout() {
        for ddi in ["sysext", "confext", "portable"] {
            let files = builtin_files(ddi).unwrap();
            let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
            assert_eq!(
                names,
                [
                    "10-root.conf",
                    "20-root-verity.conf",
                    "30-root-verity-sig.conf"
                ]
            );
            assert!(files[0].1.contains("Verity=data\n"));
            assert!(files[1].1.contains("Verity=hash\n"));
            assert!(files[2].1.contains("Verity=signature\n"));
        }
        assert!(builtin_files("root").is_none());
    }

    #[test]
    fn unknown_types_are_not_defined() {
        assert_eq!(
            find("no-such-ddi-type").unwrap_err(),
            "DDI type 'no-such-ddi-type' is not defined: No such file or directory"
        );
    }
}
