//! Loading the files named by `--key-file=`, `--certificate=` and `--private-key=` the way
//! upstream 257 does while starting up (before any definition is read), so that bad
//! paths and unusable files fail with upstream's messages even when no partition needs
//! them. The contents are kept for `Encrypt=` and `Verity=signature`.
//!
//! PEM blocks are located here first (`PEM_read_X509()` / `PEM_read_bio_PrivateKey()`
//! accept the same block names, and keys encrypted with a passphrase fail like upstream
//! without a terminal to ask on), then OpenSSL parses the block, as upstream's loader
//! does, so a key or certificate OpenSSL cannot use fails here, before anything is
//! written. Signing (`Verity=signature`) is OpenSSL's PKCS#7, as upstream's.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A secret read from a file; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// The strerror() text of an I/O error, as upstream prints `%m`.
fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a pointer to a static string for any errno value.
        Some(code) => unsafe { std::ffi::CStr::from_ptr(libc::strerror(code)) }
            .to_string_lossy()
            .into_owned(),
        None => e.to_string(),
    }
}

/// Reads a secret file like upstream's `read_full_file()` with "warn if world
/// readable": returns the contents and, for a mode with any bit for others, the warning.
fn read_secret_file(path: &Path) -> std::io::Result<(Vec<u8>, Option<String>)> {
    let data = fs::read(path)?;
    let mode = fs::metadata(path)?.permissions().mode() & 0o7777;
    let warning = (mode & 0o007 != 0).then(|| {
        format!(
            "{} has 0{mode:03o} mode that is too permissive, please adjust the ownership and access mode.",
            path.display()
        )
    });
    Ok((data, warning))
}

/// `--key-file=PATH`: the whole file, or upstream's error message; warnings are pushed.
pub fn read_key_file(path: &str, warnings: &mut Vec<String>) -> Result<Secret, String> {
    match read_secret_file(Path::new(path)) {
        Ok((data, warning)) => {
            warnings.extend(warning);
            Ok(Secret(data))
        }
        Err(e) => Err(format!(
            "Failed to read key file '{path}': {}",
            errno_text(&e)
        )),
    }
}

/// `--certificate=PATH` (file source): the DER bytes of the first certificate block.
pub fn load_certificate(path: &Path) -> Result<Vec<u8>, String> {
    let fail = |why: &str| {
        format!(
            "Failed to load X.509 certificate from {}: {why}",
            path.display()
        )
    };
    let text = fs::read(path).map_err(|e| fail(&errno_text(&e)))?;
    let der = first_block(&text, |name| {
        matches!(
            name,
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
        )
    })
    .filter(|b| b.headers_ok)
    .and_then(|b| b.der)
    .filter(|der| is_certificate(der))
    .filter(|der| openssl::x509::X509::from_der(der).is_ok())
    .ok_or_else(|| fail("Bad message"))?;
    Ok(der)
}

/// `--private-key=PATH` (file source): the DER bytes of the key; warnings are pushed.
pub fn load_private_key(path: &Path, warnings: &mut Vec<String>) -> Result<Secret, String> {
    let fail = |why: &str| format!("Failed to load private key from {}: {why}", path.display());
    let (text, warning) = read_secret_file(path).map_err(|e| fail(&errno_text(&e)))?;
    warnings.extend(warning);
    let block =
        first_block(&text, is_private_key_name).ok_or_else(|| fail("Input/output error"))?;
    let usable = block.headers_ok
        && block.name != "ENCRYPTED PRIVATE KEY"
        && block.der.as_deref().is_some_and(is_der_sequence)
        && block
            .der
            .as_deref()
            .is_some_and(|der| openssl::pkey::PKey::private_key_from_der(der).is_ok());
    match (usable, block.der) {
        (true, Some(der)) => Ok(Secret(der)),
        _ => Err(fail("Input/output error")),
    }
}

/// SHA-256 over the certificate's DER encoding (`X509_digest()`), the
/// `certificateFingerprint` of a verity signature.
pub fn certificate_fingerprint(certificate_der: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(certificate_der).into()
}

/// Signs the lowercase hex text of a verity root hash as upstream does: a detached
/// PKCS#7 signature without signed attributes (so RSA signatures are the same for the
/// same key and root hash), over the text as binary, in DER. The error is upstream's
/// message with OpenSSL's first error (e.g. a key that does not match the certificate).
pub fn sign_root_hash(
    root_hex: &str,
    certificate_der: &[u8],
    private_key: &Secret,
) -> Result<Vec<u8>, String> {
    use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
    let fail = |stack: openssl::error::ErrorStack| {
        format!(
            "Failed to calculate PKCS7 signature: {}",
            first_error_text(&stack)
        )
    };
    let cert = openssl::x509::X509::from_der(certificate_der).map_err(fail)?;
    let key = openssl::pkey::PKey::private_key_from_der(&private_key.0).map_err(fail)?;
    let extra = openssl::stack::Stack::new().map_err(fail)?;
    let flags = Pkcs7Flags::DETACHED | Pkcs7Flags::NOATTR | Pkcs7Flags::BINARY;
    let signed = Pkcs7::sign(&cert, &key, &extra, root_hex.as_bytes(), flags).map_err(fail)?;
    signed.to_der().map_err(|stack| {
        format!(
            "Failed to convert PKCS7 signature to DER: {}",
            first_error_text(&stack)
        )
    })
}

/// `ERR_error_string()` of the oldest queued error: `error:CODE:library:function:reason`
/// (OpenSSL 3 leaves the function empty).
fn first_error_text(stack: &openssl::error::ErrorStack) -> String {
    match stack.errors().first() {
        Some(e) => format!(
            "error:{:08X}:{}::{}",
            e.code(),
            e.library().unwrap_or_default(),
            e.reason().unwrap_or_default()
        ),
        None => "error:00000000:lib(0)::reason(0)".to_string(),
    }
}

fn is_private_key_name(name: &str) -> bool {
    matches!(
        name,
        "PRIVATE KEY"
            | "ENCRYPTED PRIVATE KEY"
            | "RSA PRIVATE KEY"
            | "EC PRIVATE KEY"
            | "DSA PRIVATE KEY"
    )
}

/// One PEM block: its name, decoded body (None if the base64 is broken) and whether it
/// carries no encryption headers (`Proc-Type: 4,ENCRYPTED` needs a passphrase).
struct PemBlock {
    name: String,
    der: Option<Vec<u8>>,
    headers_ok: bool,
}

/// The first PEM block whose name is accepted (others are skipped, as OpenSSL does).
fn first_block(text: &[u8], accept: impl Fn(&str) -> bool) -> Option<PemBlock> {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim_end()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {name}-----");
        let mut body = String::new();
        let mut headers_ok = true;
        let mut closed = false;
        for l in lines.by_ref() {
            let l = l.trim_end();
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                headers_ok &= !l.starts_with("Proc-Type") || !l.contains("ENCRYPTED");
                continue;
            }
            body.push_str(l.trim());
        }
        if !accept(name) {
            continue;
        }
        return Some(PemBlock {
            name: name.to_string(),
            der: if closed { base64_decode(&body) } else { None },
            headers_ok,
        });
    }
    None
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    if !text.len().is_multiple_of(4) || bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        acc <<= 6 * (4 - chunk.len() as u32);
        let b = acc.to_be_bytes();
        out.extend_from_slice(&b[1..chunk.len()]);
    }
    Some(out)
}

/// One DER element at the start of `data`: (tag, content, rest).
fn der_element(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The elements of a constructed content, or None if it does not parse exactly.
fn der_children(mut content: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tag, c, rest) = der_element(content)?;
        out.push((tag, c));
        content = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;

/// A single SEQUENCE filling the whole buffer, made of well-formed elements.
fn is_der_sequence(der: &[u8]) -> bool {
    matches!(der_element(der), Some((SEQUENCE, content, [])) if der_children(content).is_some_and(|c| !c.is_empty()))
}

/// `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE,
/// signatureValue BIT STRING }`.
fn is_certificate(der: &[u8]) -> bool {
    let Some((SEQUENCE, content, [])) = der_element(der) else {
        return false;
    };
    matches!(
        der_children(content).as_deref(),
        Some([(SEQUENCE, _), (SEQUENCE, _), (BIT_STRING, _)])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert!(base64_decode("aGVsbG8").is_none());
        assert!(base64_decode("a$==").is_none());
    }

    #[test]
    fn der_shapes() {
        // SEQUENCE { SEQUENCE {}, SEQUENCE {}, BIT STRING 00 }
        let cert = [0x30, 0x08, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00, 0x00];
        assert!(!is_certificate(&cert), "trailing byte inside");
        let cert = [0x30, 0x07, 0x30, 0x00, 0x30, 0x00, 0x03, 0x01, 0x00];
        assert!(is_certificate(&cert));
        assert!(is_der_sequence(&cert));
        assert!(!is_der_sequence(&cert[..5]));
        assert!(!is_certificate(&[0x02, 0x01, 0x00]));
    }

    #[test]
    fn pem_blocks_are_found_by_name() {
        let text = b"junk\n-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n";
        let b = first_block(text, is_private_key_name).unwrap();
        assert_eq!(b.name, "EC PRIVATE KEY");
        assert_eq!(b.der.unwrap(), vec![0x30, 0x00]);
        assert!(first_block(text, |n| n == "CERTIFICATE").is_none());
    }
}
