//! Generator of the bad-options family: command lines with two or more values that
//! upstream rejects while it parses and getopt_long syntax errors (ambiguous or unknown
//! options, missing values, values on flags, short-option clusters), mixed with valid
//! ones (some spelled as unique abbreviations), in random order. Upstream handles the
//! options in command-line order, so the first bad value or syntax error is the error
//! (stderr is compared), a valid value before it is applied first (its notice or
//! warning comes before the error), and `--json=help` ends parsing where it stands.

use super::checks::Checks;
use super::{Case, Rng};
use std::path::Path;

/// Values upstream rejects while parsing.
const BAD: &[&str] = &[
    "--size=foo",
    "--size=0",
    "--empty=bar",
    "--seed=x",
    "--json=y",
    "--dry-run=maybe",
    "--discard=x",
    "--factory-reset=x",
    "--pretty=x",
    "--split=x",
    "--offline=x",
    "--sector-size=3",
    "--sector-size=1000",
    "--architecture=foo",
    "--include-partitions=zz",
    "--include-partitions=esp,,root",
    "--exclude-partitions=yy",
    "--defer-partitions=ww",
    "--private-key-source=x",
    "--certificate-source=engine:e",
    "--tpm2-pcrs=x",
    "--tpm2-public-key-pcrs=99",
    "--tpm2-seal-key-handle=y",
    "--image-policy=xx",
    "--make-ddi=a/b",
    "--key-file={tmp}/missing-key",
];

/// getopt_long syntax errors (glibc's messages name the program: the runner starts both
/// binaries as `systemd-repart`). Not `-h`/`--help`/`--version` abbreviations: their
/// output differs from upstream's by design.
const SYNTAX: &[&str] = &[
    "--de=x",
    "--d",
    "--s=1",
    "--e",
    "--tpm2-p=x",
    "--imag=x",
    "--co=x",
    "--=x",
    "--foo",
    "--foo=bar",
    "---size=1",
    "--sizes=1",
    "-x",
    "-Sx",
    "-PCq",
    "-S=x",
    "-é",
    "-",
    "--no-pager=yes",
    "--no-legend=",
    "--he=",
    "--list-devices=x",
    "--can-factory-reset=1",
    // A value taken from the next argument, whatever it looks like.
    "--size\n--foo",
    "--seed\n-x",
];

/// Options that need a value, as the last argument (so they have none).
const MISSING_VALUE: &[&str] = &["--size", "--siz", "-s", "--json", "--copy-s", "-Ss"];

/// Valid values, some of the same options as in [`BAD`] (a later valid value does not
/// hide an earlier bad one), some with a message of their own (size rounding, the
/// key file's mode), and the two type-list kinds (refused together).
const GOOD: &[&str] = &[
    "--size=5000",
    "--size=auto",
    "--empty=allow",
    "--seed=random",
    "--json=short",
    "--dry-run=yes",
    "--pretty=no",
    "--sector-size=4096",
    "--architecture=arm64",
    "--include-partitions=esp",
    "--exclude-partitions=home",
    "--defer-partitions=esp",
    "--private-key-source=file",
    "--tpm2-pcrs=7",
    "--image-policy=root=verity",
    "--key-file=key",
    "--json=help",
    // Unique abbreviations and short options.
    "--siz=auto",
    "--em=allow",
    "--pre=no",
    "--dry=yes",
    "--no-p",
    "--no-l",
    "--copy-s=src",
    "-ssrc",
    "-s\nsrc",
    "--image-p=root=verity",
    "--tpm2-pcrs\n7",
];

/// A bad-options case: 2–3 bad values and 0–3 valid ones, shuffled.
pub fn gen_bad_options(seed: u64, dir: &Path) -> Case {
    let mut rng = Rng::new(seed);
    let mut opts: Vec<&str> = Vec::new();
    for _ in 0..2 + rng.below(2) {
        opts.push(if rng.chance(40) {
            rng.pick(SYNTAX)
        } else {
            rng.pick(BAD)
        });
    }
    for _ in 0..rng.below(4) {
        opts.push(rng.pick(GOOD));
    }
    // Fisher-Yates with the case's own random stream.
    for i in (1..opts.len()).rev() {
        opts.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut cmd = vec!["--definitions={defs}".to_string(), "--offline=yes".into()];
    // A newline in an entry separates two arguments (cmd has one per line).
    cmd.extend(opts.iter().map(|o| o.to_string()));
    cmd.push("{img}".into());
    let mut descr = opts.join(" ");
    if rng.chance(20) {
        let last = rng.pick(MISSING_VALUE);
        cmd.push(last.into());
        descr = format!("{descr} {{img}} {last}");
    }
    std::fs::create_dir_all(dir.join("repart.d")).unwrap();
    std::fs::write(dir.join("repart.d/10-esp.conf"), "[Partition]\nType=esp\n").unwrap();
    std::fs::write(dir.join("cmd"), cmd.join("\n") + "\n").unwrap();
    // A readable key file: upstream warns about its mode when it reads it.
    std::fs::write(dir.join("key"), "k").unwrap();
    std::fs::write(dir.join("setup"), "chmod 644 key\n").unwrap();
    Case {
        descr: descr.replace('\n', " "),
        tags: vec!["badopts"],
        contents: false,
        checks: Checks {
            stderr: true,
            ..Default::default()
        },
    }
}
