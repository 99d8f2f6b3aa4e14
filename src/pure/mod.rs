//! The functional core: values in, values out. Nothing here reads files, the clock,
//! the environment or a random source; the shell gathers those facts and passes them in.

pub mod base64;
pub mod cli;
pub mod config;
pub mod fstab;
pub mod fstype;
pub mod gpt_types;
pub mod located_json;
pub mod model;
pub mod output;
pub mod plan;
pub mod policy;
pub mod security_args;
pub mod size;
pub mod tpm2;
pub mod verity;

#[cfg(test)]
mod tests {
    /// The core never reaches into the shell: no `crate::shell` path in code under
    /// `src/pure/` (comments aside), except the one re-export listed here.
    #[test]
    fn the_core_imports_nothing_from_the_shell() {
        // Spelled in pieces so that this test does not find itself.
        let needle = ["crate", "shell"].join("::");
        let allowed = [format!("pub use {needle}::signing::Secret;")];
        let mut offenders = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/pure"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default().trim();
                    if code.contains(&needle) && !allowed.iter().any(|a| a == code) {
                        offenders.push(format!("{}:{}: {code}", path.display(), n + 1));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:#?}");
    }
}
