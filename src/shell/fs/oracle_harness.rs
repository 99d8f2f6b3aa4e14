//! Test-only driver used by `tools/fs-compare.sh` to build partitions with this module and
//! compare them with the upstream oracle's. Ignored unless run explicitly:
//! `FS_HARNESS_JOBS=jobs.json FS_HARNESS_OUT=dir cargo test --lib fs::oracle_harness -- --ignored`.
//!
//! jobs.json is an array of objects: `name`, `format`, `label`, `uuid` (partition UUID),
//! `size` (bytes, 0 with `minimize`), `minimize` (bool), `copy_files` (array of
//! `[source, target]`), optional `make_directories`, `make_symlinks`, `exclude_files`.

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::pure::config::{Definition, Minimize};
    use crate::pure::gpt_types::PartitionType;
    use crate::shell::fs::{FormatJob, FsEnv, format_file, minimize};

    fn strings(v: &serde_json::Value, key: &str) -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn pairs(v: &serde_json::Value, key: &str) -> Vec<(String, String)> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    #[ignore]
    fn build_jobs() {
        let (Some(jobs), Some(out)) = (
            std::env::var_os("FS_HARNESS_JOBS"),
            std::env::var_os("FS_HARNESS_OUT"),
        ) else {
            return;
        };
        let _ = tracing_subscriber::fmt()
            .without_time()
            .with_target(false)
            .with_level(false)
            .with_writer(std::io::stderr)
            .try_init();
        let out = PathBuf::from(out);
        let jobs: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(jobs).unwrap()).unwrap();
        let env = FsEnv::from_process_env();
        let mut report = String::new();
        for j in jobs.as_array().unwrap() {
            let name = j["name"].as_str().unwrap();
            let t = PartitionType {
                uuid: uuid::Uuid::nil(),
                name: None,
                designator: None,
                arch: None,
            };
            let mut d = Definition::new(PathBuf::from(format!("/defs/{name}.conf")), t);
            d.format = j["format"]
                .as_str()
                .map(crate::pure::fstype::FileSystem::from_name);
            d.copy_files = pairs(j, "copy_files");
            d.make_symlinks = pairs(j, "make_symlinks");
            d.make_directories = strings(j, "make_directories");
            d.exclude_files = strings(j, "exclude_files");
            d.minimize = if j["minimize"].as_bool().unwrap_or(false) {
                Minimize::Guess
            } else {
                Minimize::Off
            };
            let label = j["label"].as_str().unwrap_or("");
            let uuid = uuid::Uuid::parse_str(j["uuid"].as_str().unwrap()).unwrap();
            let hint = format!("{name}.conf");
            let job = FormatJob::new(&d, label, uuid, &env, &hint);
            let img = out.join(format!("{name}.img"));
            let start = std::time::Instant::now();
            if d.minimize != Minimize::Off {
                let m = minimize(&job, crate::pure::policy::LoopUse::Never, 512).unwrap();
                std::fs::copy(&m.file, &img).unwrap();
                report.push_str(&format!("{name} {} {:?}\n", m.size, start.elapsed()));
            } else {
                let f = std::fs::File::create(&img).unwrap();
                f.set_len(j["size"].as_u64().unwrap()).unwrap();
                drop(f);
                format_file(&job, &img).unwrap();
                report.push_str(&format!("{name} {} {:?}\n", j["size"], start.elapsed()));
            }
        }
        std::fs::write(out.join("sizes.txt"), report).unwrap();
    }
}
