//! The pcrlock policy file: which one (`--tpm2-pcrlock=` or the one upstream finds on
//! its own) and reading it, with upstream's messages. The checks are in
//! `pure::tpm2::pcrlock`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::tss::TssError;
use crate::pure::tpm2::pcrlock::{Message, PcrlockChoice, PcrlockPolicy, from_json};
use crate::shell::disk::strerror;

/// The policy file a run uses: the named one (made absolute, as upstream does with
/// the cwd), none with an empty `--tpm2-pcrlock=`, else the first `pcrlock.json` in
/// `search_dirs`.
pub fn resolve(choice: &PcrlockChoice, search_dirs: &[&str]) -> Option<PathBuf> {
    match choice {
        PcrlockChoice::Off => None,
        PcrlockChoice::File(p) => Some(std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        PcrlockChoice::Search => {
            let found = search_dirs
                .iter()
                .map(|d| Path::new(d).join("pcrlock.json"))
                .find(|p| p.exists());
            if let Some(p) = &found {
                tracing::debug!("Automatically using pcrlock policy '{}'.", p.display());
            }
            found
        }
    }
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// Reads the policy at `path`. A file that does not exist gives the empty policy, as
/// upstream (the policy digest then cannot be computed, which fails the encryption).
pub fn load(path: &Path) -> Result<PcrlockPolicy, TssError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(
                "Failed to find TPM2 pcrlock policy file '{}': {}",
                path.display(),
                strerror(&e)
            );
            return Ok(PcrlockPolicy::default());
        }
        Err(e) => {
            return Err(TssError {
                message: format!("Failed to load TPM2 pcrlock policy file: {}", strerror(&e)),
                errno: errno_of(&e),
            });
        }
    };
    let not_json = |errno: i32| {
        format!(
            "Failed to parse existing pcrlock policy file '{}': {}",
            path.display(),
            strerror(&std::io::Error::from_raw_os_error(errno))
        )
    };
    let mut text = Vec::new();
    if let Err(e) = file.read_to_end(&mut text) {
        let errno = errno_of(&e);
        return Err(TssError {
            message: not_json(errno),
            errno,
        });
    }
    from_json(&text).map_err(|e| TssError {
        message: match e.message {
            Message::NotJson => not_json(e.errno),
            Message::At(pos, text) => {
                format!("{}:{}:{}: {text}", path.display(), pos.line, pos.column)
            }
            Message::Plain(text) => text,
        },
        errno: e.errno,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_or_found() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert_eq!(resolve(&PcrlockChoice::Search, &["/nonexistent", d]), None);
        std::fs::write(dir.path().join("pcrlock.json"), "{}").unwrap();
        assert_eq!(
            resolve(&PcrlockChoice::Search, &["/nonexistent", d]),
            Some(dir.path().join("pcrlock.json"))
        );
        assert_eq!(resolve(&PcrlockChoice::Off, &[d]), None);
        let named = resolve(&PcrlockChoice::File("x.json".into()), &[d]).unwrap();
        assert!(named.is_absolute() && named.ends_with("x.json"));
    }

    #[test]
    fn missing_file_is_the_empty_policy() {
        assert_eq!(
            load(Path::new("/nonexistent/pcrlock.json")),
            Ok(PcrlockPolicy::default())
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.json");
        std::fs::write(&p, "{}").unwrap();
        let e = load(&p).unwrap_err();
        assert_eq!(
            e.message,
            format!("{}:1:1: Missing object field 'pcrBank'.", p.display())
        );
        assert_eq!(e.errno, libc::ENXIO);
    }
}
