//! The contents of a `Verity=signature` partition (upstream 257's format).

use super::hex;
use crate::pure::base64::encode as base64;

/// The contents of a `Verity=signature` partition: upstream's compact JSON object
/// (`rootHash` and `certificateFingerprint` in lowercase hex, the DER signature in
/// base64), padded with NUL bytes to `size`; `None` when it does not fit with its
/// terminating NUL.
pub fn signature_payload(
    root_hash: &[u8; 32],
    fingerprint: &[u8; 32],
    signature: &[u8],
    size: u64,
) -> Option<Vec<u8>> {
    let text = format!(
        "{{\"rootHash\":\"{}\",\"certificateFingerprint\":\"{}\",\"signature\":\"{}\"}}",
        hex(root_hash),
        hex(fingerprint),
        base64(signature)
    );
    let mut bytes = text.into_bytes();
    if bytes.len() as u64 >= size {
        return None;
    }
    bytes.resize(usize::try_from(size).ok()?, 0);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_payload_is_padded_json() {
        let payload = signature_payload(&[0xab; 32], &[0x01; 32], b"sig", 512).unwrap();
        assert_eq!(payload.len(), 512);
        let text =
            String::from_utf8(payload.into_iter().take_while(|&b| b != 0).collect()).unwrap();
        let want = format!(
            "{{\"rootHash\":\"{}\",\"certificateFingerprint\":\"{}\",\"signature\":\"c2ln\"}}",
            "ab".repeat(32),
            "01".repeat(32)
        );
        assert_eq!(text, want);
        // The text and its NUL must fit.
        let len = want.len() as u64;
        assert!(signature_payload(&[0xab; 32], &[0x01; 32], b"sig", len).is_none());
        assert!(signature_payload(&[0xab; 32], &[0x01; 32], b"sig", len + 1).is_some());
    }
}
