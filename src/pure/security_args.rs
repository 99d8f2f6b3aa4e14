//! Values of the key, TPM2 and image-policy options, parsed and validated like
//! upstream 257 does while reading the command line (with its messages), and kept for
//! the partitions that will need them (`Encrypt=`, `Verity=signature`). Pure: no I/O.
//!
//! Word splitting follows systemd's `extract_first_word()` in its two flavours:
//! coalescing (separators at both ends of a word are skipped, used for PCR lists) and
//! non-coalescing (every separator ends a word, used for image policies). A backslash
//! takes the next character literally in both.

/// A PCR entry of `--tpm2-pcrs=` / `--tpm2-public-key-pcrs=`: `INDEX[:HASH[=HEX]]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PcrValue {
    /// TPM2 algorithm id of the bank, 0 while not given; sorts first, like upstream.
    pub hash: u16,
    /// PCR index 0…23.
    pub index: u32,
    /// The expected digest, empty when not given.
    pub value: Vec<u8>,
}

/// Why a PCR argument was refused; `errno_text` is what upstream prints after `: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PcrError {
    /// `Could not parse PCR values from 'ARG': ERRNO`.
    Syntax(&'static str),
    /// `Parsed PCR values are not valid.` (duplicates, digest of the wrong size).
    Invalid,
    /// `Multiple PCR hash banks selected.` (only for the public-key mask).
    MultipleBanks,
}

const EINVAL: &str = "Invalid argument";
const ERANGE: &str = "Numerical result out of range";
const EPIPE: &str = "Broken pipe";
/// What upstream's logging returns for a "failure" logged with error 0.
const ESTRPIPE: &str = "Streams pipe error";

const ALG_SHA1: u16 = 0x0004;
const ALG_SHA256: u16 = 0x000B;
const ALG_SHA384: u16 = 0x000C;
const ALG_SHA512: u16 = 0x000D;
/// TPM2B_DIGEST holds at most a SHA-512 digest.
const MAX_DIGEST: usize = 64;

/// Upstream's names for well-known PCRs.
const PCR_NAMES: [(&str, u32); 17] = [
    ("platform-code", 0),
    ("platform-config", 1),
    ("external-code", 2),
    ("external-config", 3),
    ("boot-loader-code", 4),
    ("boot-loader-config", 5),
    ("host-platform", 6),
    ("secure-boot-policy", 7),
    ("kernel-initrd", 9),
    ("ima", 10),
    ("kernel-boot", 11),
    ("kernel-config", 12),
    ("sysexts", 13),
    ("shim-policy", 14),
    ("system-identity", 15),
    ("debug", 16),
    ("application-support", 23),
];

/// One word of `s` up to a separator, `extract_first_word()`-style; returns the word
/// and the rest, or `None` when nothing but separators is left. `Err` for a trailing
/// backslash.
fn extract_word<'a>(
    s: &'a str,
    separators: &[char],
    coalesce: bool,
) -> Result<Option<(String, &'a str)>, &'static str> {
    let mut rest = s;
    if coalesce {
        rest = rest.trim_start_matches(separators);
    }
    if rest.is_empty() {
        return Ok(None);
    }
    let mut word = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some((_, n)) => word.push(n),
                None => return Err(EINVAL),
            }
        } else if separators.contains(&c) {
            let after = &rest[i + c.len_utf8()..];
            let after = if coalesce {
                after.trim_start_matches(separators)
            } else {
                after
            };
            return Ok(Some((word, after)));
        } else {
            word.push(c);
        }
    }
    Ok(Some((word, "")))
}

/// `strtoul()`-style number as systemd's `safe_atou*()` read it: leading whitespace and
/// `+` allowed, `-` refused as out of range, base prefixes per `base` (0: `0x` hex,
/// leading `0` octal), nothing after the digits.
fn parse_unsigned(text: &str, base: u32, max: u64) -> Result<u64, &'static str> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.starts_with('-') {
        return Err(ERANGE);
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let (digits, radix) = match base {
        16 => (
            t.strip_prefix("0x")
                .or_else(|| t.strip_prefix("0X"))
                .unwrap_or(t),
            16,
        ),
        _ => {
            if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                (h, 16)
            } else if t.len() > 1 && t.starts_with('0') {
                (&t[1..], 8)
            } else {
                (t, 10)
            }
        }
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(EINVAL);
    }
    match u64::from_str_radix(digits, radix) {
        Ok(v) if v <= max => Ok(v),
        _ => Err(ERANGE),
    }
}

fn hash_algorithm(name: &str) -> Option<u16> {
    match name.to_ascii_lowercase().as_str() {
        "sha1" => Some(ALG_SHA1),
        "sha256" => Some(ALG_SHA256),
        "sha384" => Some(ALG_SHA384),
        "sha512" => Some(ALG_SHA512),
        _ => None,
    }
}

fn digest_size(hash: u16) -> usize {
    match hash {
        ALG_SHA1 => 20,
        ALG_SHA256 => 32,
        ALG_SHA384 => 48,
        _ => 64,
    }
}

/// Hex digits with whitespace skipped, as systemd's `unhexmem()`.
fn unhex(text: &str) -> Result<Vec<u8>, &'static str> {
    let digits: Vec<u32> = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .map(|c| c.to_digit(16).ok_or(EINVAL))
        .collect::<Result<_, _>>()?;
    if !digits.len().is_multiple_of(2) {
        return Err(EPIPE);
    }
    Ok(digits
        .chunks(2)
        .map(|p| u8::try_from(p[0] * 16 + p[1]).unwrap_or(0))
        .collect())
}

fn parse_pcr_value(arg: &str) -> Result<PcrValue, &'static str> {
    let Some((index, rest)) = extract_word(arg, &[':'], true)? else {
        return Err(ESTRPIPE);
    };
    let index = match PCR_NAMES.iter().find(|(n, _)| *n == index) {
        Some(&(_, i)) => i,
        None => parse_unsigned(&index, 0, 23).map_err(|_| EINVAL)? as u32,
    };
    let mut pcr = PcrValue {
        hash: 0,
        index,
        value: Vec::new(),
    };
    if !rest.is_empty() {
        let Some((hash, rest)) = extract_word(rest, &['='], true)? else {
            return Err(ESTRPIPE);
        };
        pcr.hash = hash_algorithm(&hash).ok_or(EINVAL)?;
        if !rest.is_empty() {
            let hex = rest
                .strip_prefix("0x")
                .or_else(|| rest.strip_prefix("0X"))
                .unwrap_or(rest);
            let value = unhex(hex)?;
            if value.len() > MAX_DIGEST {
                return Err(EINVAL);
            }
            pcr.value = value;
        }
    }
    Ok(pcr)
}

/// Entries of one PCR argument (separated by `+` or `,`), not yet validated.
fn parse_pcr_list(arg: &str) -> Result<Vec<PcrValue>, PcrError> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some((word, after)) =
        extract_word(rest, &['+', ','], true).map_err(PcrError::Syntax)?
    {
        out.push(parse_pcr_value(&word).map_err(PcrError::Syntax)?);
        rest = after;
    }
    Ok(out)
}

/// Upstream's validity check on a sorted list: digests of the bank's size, and no
/// entry before or equal to the *first* one (upstream compares every entry with the
/// first only, so a duplicate further on goes unnoticed — reproduced on purpose).
fn pcr_values_valid(values: &[PcrValue]) -> bool {
    let sizes_ok = values
        .iter()
        .all(|v| v.value.is_empty() || v.value.len() == digest_size(v.hash));
    let Some(first) = values.first() else {
        return true;
    };
    sizes_ok
        && values[1..]
            .iter()
            .all(|v| v.hash > first.hash || (v.hash == first.hash && v.index > first.index))
}

/// A sorted copy where entries without a bank get `bank` (or sha256 if `None`).
fn with_default_bank(values: &[PcrValue], bank: Option<u16>) -> Vec<PcrValue> {
    let bank = bank.unwrap_or(ALG_SHA256);
    let mut out: Vec<PcrValue> = values
        .iter()
        .map(|v| PcrValue {
            hash: if v.hash == 0 { bank } else { v.hash },
            ..v.clone()
        })
        .collect();
    out.sort();
    out
}

/// `--tpm2-pcrs=`: appends to the entries of earlier uses (an empty value adds nothing).
/// Entries without a bank take the first bank named in the same argument; the
/// argument is checked alone, then together with the earlier ones, where entries still
/// without a bank count as the lowest bank named anywhere (sha256 if none), as observed.
pub fn append_pcrs(existing: &mut Vec<PcrValue>, arg: &str) -> Result<(), PcrError> {
    let mut new = parse_pcr_list(arg)?;
    if let Some(bank) = new.iter().map(|v| v.hash).find(|&h| h != 0) {
        new.iter_mut()
            .filter(|v| v.hash == 0)
            .for_each(|v| v.hash = bank);
    }
    if !pcr_values_valid(&with_default_bank(&new, None)) {
        return Err(PcrError::Invalid);
    }
    let mut all = existing.clone();
    all.extend(new);
    let lowest = all.iter().map(|v| v.hash).filter(|&h| h != 0).min();
    if !pcr_values_valid(&with_default_bank(&all, lowest)) {
        return Err(PcrError::Invalid);
    }
    *existing = all;
    Ok(())
}

/// `--tpm2-public-key-pcrs=`: a mask of one bank, OR-ed with earlier uses; empty clears.
pub fn merge_pcr_mask(mask: &mut Option<u32>, arg: &str) -> Result<(), PcrError> {
    if arg.is_empty() {
        *mask = Some(0);
        return Ok(());
    }
    let mut values = parse_pcr_list(arg)?;
    if let Some(bank) = values.iter().map(|v| v.hash).find(|&h| h != 0) {
        values
            .iter_mut()
            .filter(|v| v.hash == 0)
            .for_each(|v| v.hash = bank);
    }
    let values = with_default_bank(&values, None);
    if !pcr_values_valid(&values) {
        return Err(PcrError::Invalid);
    }
    if values.windows(2).any(|w| w[0].hash != w[1].hash) {
        return Err(PcrError::MultipleBanks);
    }
    let m = values.iter().fold(0u32, |m, v| m | (1 << v.index));
    *mask = Some(mask.unwrap_or(0) | m);
    Ok(())
}

/// The message upstream prints for a refused PCR argument.
pub fn pcr_error_message(arg: &str, e: &PcrError) -> String {
    match e {
        PcrError::Syntax(errno) => format!("Could not parse PCR values from '{arg}': {errno}"),
        PcrError::Invalid => "Parsed PCR values are not valid.".to_string(),
        PcrError::MultipleBanks => "Multiple PCR hash banks selected.".to_string(),
    }
}

/// `--tpm2-seal-key-handle=`: a 32-bit hex handle; the error text after `: `.
pub fn parse_seal_key_handle(text: &str) -> Result<u32, &'static str> {
    parse_unsigned(text, 16, u64::from(u32::MAX)).map(|v| v as u32)
}

/// Why an image policy was refused, with upstream's message prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyError {
    /// `Duplicate rule in image policy: …`
    Duplicate,
    /// `Unknown partition type in image policy: …`
    UnknownDesignator,
    /// `Unknown partition policy flag in image policy: …`
    UnknownFlag,
    /// `Failed to parse image policy: …`
    Syntax,
}

impl PolicyError {
    /// The complete message for policy `text`.
    pub fn message(self, text: &str) -> String {
        let what = match self {
            PolicyError::Duplicate => "Duplicate rule in image policy",
            PolicyError::UnknownDesignator => "Unknown partition type in image policy",
            PolicyError::UnknownFlag => "Unknown partition policy flag in image policy",
            PolicyError::Syntax => "Failed to parse image policy",
        };
        format!("{what}: {text}")
    }
}

const DESIGNATORS: [&str; 13] = [
    "root",
    "usr",
    "home",
    "srv",
    "esp",
    "xbootldr",
    "swap",
    "root-verity",
    "usr-verity",
    "root-verity-sig",
    "usr-verity-sig",
    "tmp",
    "var",
];

const POLICY_FLAGS: [&str; 12] = [
    "verity",
    "signed",
    "encrypted",
    "unprotected",
    "unused",
    "absent",
    "open",
    "ignore",
    "read-only-on",
    "read-only-off",
    "growfs-on",
    "growfs-off",
];

const WHITESPACE: [char; 4] = [' ', '\t', '\n', '\r'];

fn check_policy_flags(text: &str) -> Result<(), PolicyError> {
    if text.is_empty() || text == "-" {
        return Ok(());
    }
    let mut rest = text;
    loop {
        let Some((flag, after)) =
            extract_word(rest, &['+'], false).map_err(|_| PolicyError::Syntax)?
        else {
            return Ok(());
        };
        if !POLICY_FLAGS.contains(&flag.trim_matches(WHITESPACE)) {
            return Err(PolicyError::UnknownFlag);
        }
        if after.is_empty() && rest.ends_with('+') {
            // A trailing separator leaves one more (empty, hence unknown) flag.
            return Err(PolicyError::UnknownFlag);
        }
        rest = after;
    }
}

/// `--image-policy=`: checks the grammar (`DESIGNATOR=FLAG+FLAG:…`, `=FLAGS` for the
/// default, or one of `-` `*` `~`); the policy only matters for `--image=`.
pub fn check_image_policy(text: &str) -> Result<(), PolicyError> {
    if matches!(text, "" | "-" | "*" | "~") {
        return Ok(());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut rest = text;
    loop {
        let Some((rule, after)) =
            extract_word(rest, &[':'], false).map_err(|_| PolicyError::Syntax)?
        else {
            return Ok(());
        };
        let last_separator = after.is_empty() && rest.ends_with(':') && !rest.ends_with("\\:");
        let Some((designator, flags)) =
            extract_word(&rule, &['='], false).map_err(|_| PolicyError::Syntax)?
        else {
            return Err(PolicyError::Syntax);
        };
        if !rule.contains('=') {
            return Err(PolicyError::Syntax);
        }
        let designator = designator.trim_matches(WHITESPACE).to_string();
        if !designator.is_empty() && !DESIGNATORS.contains(&designator.as_str()) {
            return Err(PolicyError::UnknownDesignator);
        }
        if seen.contains(&designator) {
            return Err(PolicyError::Duplicate);
        }
        seen.push(designator);
        check_policy_flags(flags.trim_matches(WHITESPACE))?;
        if last_separator {
            // `…:` ends in an empty rule, which has no `=`.
            return Err(PolicyError::Syntax);
        }
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    //! Expected results were observed with systemd-repart 257.13.
    use super::*;

    fn pcrs(arg: &str) -> Result<Vec<PcrValue>, String> {
        let mut v = Vec::new();
        append_pcrs(&mut v, arg).map_err(|e| pcr_error_message(arg, &e))?;
        Ok(v)
    }

    #[test]
    fn pcr_lists_like_upstream() {
        for ok in [
            "7",
            "7+11",
            "",
            "7:sha256",
            "7,11",
            "boot-loader-code",
            "host-platform",
            "23",
            " 7",
            "+7",
            "7++11",
            "7,",
            "07",
            "0x7",
            "::7",
            "7::sha1",
            "7:",
            "7:sha1=",
            "7:sha1=0x",
            "7:SHA256",
            "7:sha1+7:sha256",
            "0x17",
        ] {
            assert!(pcrs(ok).is_ok(), "{ok:?}: {:?}", pcrs(ok));
        }
        let zero32 = "0".repeat(64);
        assert!(pcrs(&format!("7:sha256={zero32}")).is_ok());
        for (bad, errno) in [
            ("99", EINVAL),
            ("24", EINVAL),
            ("bogus", EINVAL),
            ("sha256:7", EINVAL),
            ("7 ", EINVAL),
            ("Platform-code", EINVAL),
            ("08", EINVAL),
            ("-1", EINVAL),
            ("7:md5", EINVAL),
            ("7:sha1=zz", EINVAL),
            ("7:sha1=000", EPIPE),
            ("7:=", ESTRPIPE),
            ("7:sha1:x", EINVAL),
            ("7:sha1=aa=bb", EINVAL),
            ("7: sha1", EINVAL),
            ("'7'", EINVAL),
            ("1e1", EINVAL),
        ] {
            assert_eq!(
                pcrs(bad),
                Err(format!("Could not parse PCR values from '{bad}': {errno}")),
                "{bad:?}"
            );
        }
        let too_long = format!("7:sha512={}", "0".repeat(130));
        assert!(pcrs(&too_long).unwrap_err().ends_with(EINVAL));
        for invalid in ["7+7", "7:sha256+7", "7:sha256=00", "7:sha1= 00"] {
            assert_eq!(
                pcrs(invalid),
                Err("Parsed PCR values are not valid.".into())
            );
        }
        // Repeated options, `|` between arguments: outcomes seen with upstream 257.
        let cases = [
            ("7|7", false),
            ("7:sha256|7", false),
            ("7|7:sha256", false),
            ("1+7|7", true),
            ("7+1|7", true),
            ("1|1+7|7", false),
            ("7|1", true),
            ("7|1|7", true),
            ("7|1+7", true),
            ("1|7|7", true),
            ("7|8|7", false),
            ("11|7|7", false),
            ("7|11", true),
            ("7:sha1+7", false),
            ("7+7:sha1", false),
            ("7:sha1|7", false),
            ("7|7:sha1", false),
            ("1:sha1+7", true),
            ("1:sha1|7:sha1", true),
            ("1:sha1+7:sha256", true),
            ("7,1,7", true),
            ("3|1|2", true),
            ("7+7:sha1+7:sha256", false),
            ("7+7:sha256+7:sha1", true),
            ("7:sha1+7:sha256+7", false),
            ("7|7:sha1|7:sha256", false),
            ("7:sha384+7:sha1+7", true),
            ("1:sha1|1", false),
            ("1|1:sha1", false),
            ("1:sha256|1:sha1|1", false),
            ("7:sha1|1:sha256|7", false),
            ("1|7+7", false),
            ("1+7+7", true),
            ("7:sha1|1+7", true),
            ("1:sha1|7+7:sha1", false),
            ("1|7:sha1+7", false),
            ("7|", true),
            ("010|8", false),
        ];
        for (args, valid) in cases {
            let mut v = Vec::new();
            let ok = args.split('|').all(|a| append_pcrs(&mut v, a).is_ok());
            assert_eq!(ok, valid, "{args}");
        }
    }

    #[test]
    fn public_key_pcr_masks() {
        let mut m = None;
        merge_pcr_mask(&mut m, "7").unwrap();
        merge_pcr_mask(&mut m, "7").unwrap();
        merge_pcr_mask(&mut m, "11").unwrap();
        assert_eq!(m, Some((1 << 7) | (1 << 11)));
        assert_eq!(
            merge_pcr_mask(&mut m, "7:sha1+7:sha256"),
            Err(PcrError::MultipleBanks)
        );
        assert_eq!(merge_pcr_mask(&mut m, "7+7"), Err(PcrError::Invalid));
        merge_pcr_mask(&mut m, "").unwrap();
        assert_eq!(m, Some(0));
    }

    #[test]
    fn seal_key_handles() {
        assert_eq!(parse_seal_key_handle("0x81000001"), Ok(0x8100_0001));
        assert_eq!(parse_seal_key_handle("81000001"), Ok(0x8100_0001));
        assert_eq!(parse_seal_key_handle(" 81000001"), Ok(0x8100_0001));
        assert_eq!(parse_seal_key_handle("+5"), Ok(5));
        assert_eq!(parse_seal_key_handle("0X10"), Ok(16));
        assert_eq!(parse_seal_key_handle("ffffffff"), Ok(u32::MAX));
        for (bad, e) in [
            ("xyz", EINVAL),
            ("", EINVAL),
            ("0x", EINVAL),
            ("81000001 ", EINVAL),
            ("0x123456789", ERANGE),
            ("-1", ERANGE),
        ] {
            assert_eq!(parse_seal_key_handle(bad), Err(e), "{bad:?}");
        }
    }

    #[test]
    fn image_policies() {
        for ok in [
            "",
            "*",
            "-",
            "~",
            "=",
            "root=verity",
            "root=verity+signed",
            "root=verity:usr=unused",
            "root=read-only-on",
            "root=",
            "usr-verity=absent",
            "root=open",
            "=verity",
            "root=growfs-on+growfs-off",
            "tmp=open",
            "var=open",
            " root = verity ",
            "root=verity : usr=open",
            "root=-",
            "\\root=verity",
        ] {
            assert_eq!(check_image_policy(ok), Ok(()), "{ok:?}");
        }
        for (bad, e) in [
            ("root=bogus", PolicyError::UnknownFlag),
            ("bogus", PolicyError::Syntax),
            ("root=verity:root=signed", PolicyError::Duplicate),
            ("root=verity:", PolicyError::Syntax),
            (":root=verity", PolicyError::Syntax),
            ("root=verity,signed", PolicyError::UnknownFlag),
            ("ROOT=verity", PolicyError::UnknownDesignator),
            ("root-secondary=open", PolicyError::UnknownDesignator),
            ("root=verity+", PolicyError::UnknownFlag),
            ("root=+verity", PolicyError::UnknownFlag),
            ("root=verity++signed", PolicyError::UnknownFlag),
            ("==", PolicyError::UnknownFlag),
            ("root==verity", PolicyError::UnknownFlag),
            ("=:=", PolicyError::Duplicate),
            ("root=-+verity", PolicyError::UnknownFlag),
            ("'root'=verity", PolicyError::UnknownDesignator),
            ("root=verity::usr=open", PolicyError::Syntax),
        ] {
            assert_eq!(check_image_policy(bad), Err(e), "{bad:?}");
        }
    }
}
