//! pcrlock policies (`--tpm2-pcrlock=`, systemd-pcrlock's `pcrlock.json`): the file read
//! and checked as upstream 257 reads it, with its messages, and the PolicyAuthorizeNV
//! step that binds a sealed secret to the policy's NV index. Pure.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::marshal::alg;
use crate::pure::located_json::{Located, Pos, Value, parse};

/// Which pcrlock policy a run uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PcrlockChoice {
    /// No `--tpm2-pcrlock=`: upstream's `pcrlock.json` in /run/systemd or
    /// /var/lib/systemd, if there is one.
    #[default]
    Search,
    /// `--tpm2-pcrlock=` (empty): none.
    Off,
    /// `--tpm2-pcrlock=PATH`.
    File(PathBuf),
}

/// What repart needs of a pcrlock policy (the rest is checked, as upstream does, and
/// only used by the unlocker). All empty: the named file did not exist (upstream then
/// fails when it computes the policy digest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PcrlockPolicy {
    /// `pcrBank`.
    pub bank: u16,
    /// `nvIndex`.
    pub nv_index: u32,
    /// `nvHandle`: the serialized NV index handle, recorded in the token.
    pub nv_handle: Vec<u8>,
    /// `nvPublic`: TPM2B_NV_PUBLIC of the index the policy lives in.
    pub nv_public: Vec<u8>,
}

/// Why a policy file was refused: upstream's message (already complete) and errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// What upstream logs.
    pub message: Message,
    /// The errno the encryption step fails with.
    pub errno: i32,
}

/// A message about a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// The file is not JSON: "Failed to parse existing pcrlock policy file '…': %m".
    NotJson,
    /// About a value: prefixed by the file name and its position.
    At(Pos, String),
    /// Without a position.
    Plain(String),
}

fn at(pos: Pos, errno: i32, text: String) -> PolicyError {
    PolicyError {
        message: Message::At(pos, text),
        errno,
    }
}

fn plain(errno: i32, text: &str) -> PolicyError {
    PolicyError {
        message: Message::Plain(text.into()),
        errno,
    }
}

/// The expected JSON type of a field (None: any, the field's own check decides).
fn field_type(name: &str) -> Option<&'static str> {
    match name {
        "pcrValues" => Some("array"),
        "nvIndex" => None,
        _ => Some("string"),
    }
}

/// Upstream's fields, all mandatory, in its order.
const FIELDS: [&str; 8] = [
    "pcrBank",
    "pcrValues",
    "nvIndex",
    "nvHandle",
    "nvPublic",
    "srkHandle",
    "pinPublic",
    "pinPrivate",
];

fn type_matches(v: &Value, ty: &str) -> bool {
    v.type_name() == ty || (ty == "number" && matches!(v, Value::Unsigned(_) | Value::Integer(_)))
}

fn hash_alg(name: &str) -> Option<u16> {
    match name.to_ascii_lowercase().as_str() {
        "sha1" => Some(alg::SHA1),
        "sha256" => Some(alg::SHA256),
        "sha384" => Some(alg::SHA384),
        "sha512" => Some(alg::SHA512),
        _ => None,
    }
}

fn base64_field(name: &str, v: &Located) -> Result<Vec<u8>, PolicyError> {
    let Value::String(s) = &v.value else {
        return Err(at(
            v.pos,
            libc::EINVAL,
            format!("JSON field '{name}' is not a string."),
        ));
    };
    crate::pure::base64::decode(s).ok_or_else(|| {
        at(
            v.pos,
            libc::EINVAL,
            format!("JSON field '{name}' is not valid Base64 data."),
        )
    })
}

fn uint32_field(name: &str, v: &Located) -> Result<u32, PolicyError> {
    let n = match &v.value {
        Value::String(s) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => s.parse().ok(),
        Value::Unsigned(n) => Some(*n),
        _ => None,
    }
    .ok_or_else(|| {
        at(
            v.pos,
            libc::EINVAL,
            format!(
                "JSON field '{name}' is not an unsigned integer, nor one formatted as decimal string."
            ),
        )
    })?;
    u32::try_from(n).map_err(|_| {
        at(
            v.pos,
            libc::ERANGE,
            format!("JSON field '{name}' out of bounds."),
        )
    })
}

/// The `pcrValues` array checked as upstream's prediction parser checks it.
fn check_pcr_values(values: &Value) -> Result<(), PolicyError> {
    let Value::Array(entries) = values else {
        return Err(plain(libc::EBADMSG, "PCR variant array is not an array."));
    };
    for e in entries {
        let nr = e
            .value
            .get("pcr")
            .ok_or_else(|| plain(libc::EBADMSG, "PCR array entry lacks PCR index field"))?;
        if !matches!(nr.value, Value::Unsigned(n) if n < 24) {
            return Err(plain(
                libc::EBADMSG,
                "PCR array entry PCR index is not an integer in the range 0…23",
            ));
        }
        let list = e
            .value
            .get("values")
            .ok_or_else(|| plain(libc::EBADMSG, "PCR array entry lacks values field"))?;
        let Value::Array(hashes) = &list.value else {
            return Err(plain(
                libc::EBADMSG,
                "PCR array entry values field is not an array",
            ));
        };
        for h in hashes {
            let bytes = match &h.value {
                Value::String(s) => unhex(s),
                _ => None,
            }
            .ok_or_else(|| plain(libc::EINVAL, "Failed to decode PCR policy array hash value"))?;
            if bytes.is_empty() {
                return Err(plain(libc::EINVAL, "PCR policy array hash value is zero."));
            }
            if bytes.len() > 64 {
                return Err(plain(
                    libc::EINVAL,
                    "PCR policy array hash value is too large.",
                ));
            }
        }
    }
    Ok(())
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Reads a policy file's text as upstream does: JSON, one object with exactly the
/// fields systemd-pcrlock writes (each checked in file order, then the missing ones in
/// upstream's order), then the PCR values.
pub fn from_json(text: &[u8]) -> Result<PcrlockPolicy, PolicyError> {
    let root = parse(text).map_err(|e| PolicyError {
        message: Message::NotJson,
        errno: match e {
            crate::pure::located_json::ParseError::Empty => libc::ENODATA,
            crate::pure::located_json::ParseError::Invalid => libc::EINVAL,
        },
    })?;
    let Value::Object(members) = &root.value else {
        return Err(at(
            root.pos,
            libc::EINVAL,
            "JSON variant is not an object.".into(),
        ));
    };
    let mut policy = PcrlockPolicy::default();
    let mut found = [false; FIELDS.len()];
    let mut pcr_values = None;
    for (key, v) in members {
        let Some(i) = FIELDS.iter().position(|f| f == key) else {
            return Err(at(
                v.pos,
                libc::EADDRNOTAVAIL,
                format!("Unexpected object field '{key}'."),
            ));
        };
        if let Some(ty) = field_type(key).filter(|ty| !type_matches(&v.value, ty)) {
            return Err(at(
                v.pos,
                libc::EINVAL,
                format!(
                    "Object field '{key}' has wrong type {}, expected {ty}.",
                    v.value.type_name()
                ),
            ));
        }
        if found[i] {
            return Err(at(
                v.pos,
                libc::ENOTUNIQ,
                format!("Duplicate object field '{key}'."),
            ));
        }
        found[i] = true;
        match key.as_str() {
            "pcrBank" => {
                let Value::String(name) = &v.value else {
                    unreachable!("type checked")
                };
                policy.bank = hash_alg(name).ok_or_else(|| {
                    plain(libc::EINVAL, &format!("Invalid hash algorithm: {name}"))
                })?;
            }
            "pcrValues" => pcr_values = Some(&v.value),
            "nvIndex" => policy.nv_index = uint32_field(key, v)?,
            "nvHandle" => policy.nv_handle = base64_field(key, v)?,
            "nvPublic" => policy.nv_public = base64_field(key, v)?,
            _ => {
                base64_field(key, v)?;
            }
        }
    }
    if let Some(missing) = FIELDS.iter().zip(found).find(|(_, f)| !f) {
        return Err(at(
            root.pos,
            libc::ENXIO,
            format!("Missing object field '{}'.", missing.0),
        ));
    }
    check_pcr_values(pcr_values.expect("mandatory field found"))?;
    Ok(policy)
}

/// TPMA_NV_WRITTEN: set in the name the policy is computed with (the index is written
/// by the time anything unlocks).
const NV_WRITTEN: u32 = 1 << 29;
/// TPM_CC_PolicyAuthorizeNV.
const CC_POLICY_AUTHORIZE_NV: u32 = 0x0000_0192;

/// Why no PolicyAuthorizeNV digest could be computed; upstream logs only `Garbage`,
/// all fail the encryption with their errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NvPublicError {
    /// Not a TPM2B_NV_PUBLIC (also: the file did not exist).
    #[error("Failed to unmarshal NV public structure")]
    Unmarshal,
    /// Bytes after it.
    #[error("Garbage at end of NV public structure marshal data.")]
    Garbage,
    /// Its name algorithm is not sha256.
    #[error("Unsupported nameAlg")]
    NameAlg,
}

impl NvPublicError {
    /// The errno upstream fails with.
    pub fn errno(self) -> i32 {
        match self {
            NvPublicError::NameAlg => libc::EOPNOTSUPP,
            _ => libc::ENOTRECOVERABLE,
        }
    }
}

/// The TPMS_NV_PUBLIC inside a TPM2B_NV_PUBLIC, with TPMA_NV_WRITTEN set, re-marshalled.
fn nv_public_written(b: &[u8]) -> Result<Vec<u8>, NvPublicError> {
    let size = usize::from(u16::from_be_bytes(
        b.get(..2)
            .ok_or(NvPublicError::Unmarshal)?
            .try_into()
            .expect("2 bytes"),
    ));
    let inner = b.get(2..2 + size).ok_or(NvPublicError::Unmarshal)?;
    // nvIndex u32, nameAlg u16, attributes u32, authPolicy TPM2B_DIGEST, dataSize u16.
    let policy_size = usize::from(u16::from_be_bytes(
        inner
            .get(10..12)
            .ok_or(NvPublicError::Unmarshal)?
            .try_into()
            .expect("2 bytes"),
    ));
    if size == 0 || policy_size > 64 || inner.len() != 12 + policy_size + 2 {
        return Err(NvPublicError::Unmarshal);
    }
    if b.len() != 2 + size {
        return Err(NvPublicError::Garbage);
    }
    if u16::from_be_bytes([inner[4], inner[5]]) != alg::SHA256 {
        return Err(NvPublicError::NameAlg);
    }
    let mut out = inner.to_vec();
    let attrs = u32::from_be_bytes(inner[6..10].try_into().expect("4 bytes")) | NV_WRITTEN;
    out[6..10].copy_from_slice(&attrs.to_be_bytes());
    Ok(out)
}

/// PolicyAuthorizeNV: `old` extended by the command code and the NV index's name
/// (sha256 of its public area as written).
pub fn policy_authorize_nv(old: &[u8; 32], nv_public: &[u8]) -> Result<[u8; 32], NvPublicError> {
    let public = nv_public_written(nv_public)?;
    let mut name = alg::SHA256.to_be_bytes().to_vec();
    name.extend_from_slice(&Sha256::digest(&public));
    let mut h = Sha256::new();
    h.update(old);
    h.update(CC_POLICY_AUTHORIZE_NV.to_be_bytes());
    h.update(&name);
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    // nvPublic and tpm2-policy-hash of a token the oracle (systemd-repart 257.13) wrote
    // with a systemd-pcrlock policy made against swtpm.
    #[test]
    fn authorize_nv_digest_as_the_oracle() {
        let nv = crate::pure::base64::decode(
            "AC4BvaoSAAsAAhAIACCt8KJLQH0JPTCDGNA1mAIBgYopQCgA9hOug2NXapxpdAAi",
        )
        .unwrap();
        let d = policy_authorize_nv(&[0; 32], &nv).unwrap();
        assert_eq!(
            hex(&d),
            "2c1c0295a821d38bb53fecad7a467b4ef0429d5b6cae5a886af85a15fd872c00"
        );
        assert_eq!(
            policy_authorize_nv(&[0; 32], &[]),
            Err(NvPublicError::Unmarshal)
        );
        let mut garbage = nv.clone();
        garbage.push(0);
        assert_eq!(
            policy_authorize_nv(&[0; 32], &garbage),
            Err(NvPublicError::Garbage)
        );
    }

    const GOOD: &str = r#"{"pcrBank":"sha256","pcrValues":[{"pcr":15,"values":["00"]}],"nvIndex":"7","nvHandle":"AA==","nvPublic":"AQI=","srkHandle":"AA==","pinPublic":"AA==","pinPrivate":"AA=="}"#;

    #[test]
    fn reads_what_pcrlock_writes() {
        let p = from_json(GOOD.as_bytes()).unwrap();
        assert_eq!(p.bank, alg::SHA256);
        assert_eq!(p.nv_index, 7);
        assert_eq!(p.nv_public, vec![1, 2]);
    }

    fn message(text: &str) -> (Message, i32) {
        let e = from_json(text.as_bytes()).unwrap_err();
        (e.message, e.errno)
    }

    // Messages and errnos as the oracle printed them for these files.
    #[test]
    fn refusals_as_upstream() {
        let pos = |line, column| Pos { line, column };
        assert_eq!(message(""), (Message::NotJson, libc::ENODATA));
        assert_eq!(message("{} x"), (Message::NotJson, libc::EINVAL));
        assert_eq!(
            message("[]"),
            (
                Message::At(pos(1, 1), "JSON variant is not an object.".into()),
                libc::EINVAL
            )
        );
        assert_eq!(
            message("{\n  \"pcrBank\": 5}"),
            (
                Message::At(
                    pos(2, 14),
                    "Object field 'pcrBank' has wrong type unsigned, expected string.".into()
                ),
                libc::EINVAL
            )
        );
        assert_eq!(
            message(r#"{"x":1}"#),
            (
                Message::At(pos(1, 6), "Unexpected object field 'x'.".into()),
                libc::EADDRNOTAVAIL
            )
        );
        assert_eq!(
            message("{}"),
            (
                Message::At(pos(1, 1), "Missing object field 'pcrBank'.".into()),
                libc::ENXIO
            )
        );
        assert_eq!(
            message(r#"{"pcrBank":"md5"}"#),
            (
                Message::Plain("Invalid hash algorithm: md5".into()),
                libc::EINVAL
            )
        );
        let bad_pcr = GOOD.replace(r#""pcr":15"#, r#""pcr":24"#);
        assert_eq!(message(&bad_pcr).1, libc::EBADMSG);
        let bad_b64 = GOOD.replace(r#""nvHandle":"AA==""#, r#""nvHandle":"%%""#);
        assert_eq!(
            message(&bad_b64),
            (
                Message::At(
                    pos(1, 87),
                    "JSON field 'nvHandle' is not valid Base64 data.".into()
                ),
                libc::EINVAL
            )
        );
    }
}
