//! The `systemd-tpm2` LUKS2 token repart enrolls, as text with upstream's key order
//! (libcryptsetup keeps the order it is given), and the keyslot passphrase derived from
//! the sealed secret. Pure.

use super::policy::bank_name;
use crate::pure::base64::encode as base64;

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything a token records about one sealed secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFields {
    /// The keyslot the secret opens.
    pub keyslot: u32,
    /// Per shard: TPM2B_PRIVATE then TPM2B_PUBLIC of the sealed object, marshalled.
    pub blobs: Vec<Vec<u8>>,
    /// The PCRs the policy binds (bit i = PCR i).
    pub pcr_mask: u32,
    /// Their bank (0: none).
    pub pcr_bank: u16,
    /// Per shard: the policy digest the object was sealed with.
    pub policy_hashes: Vec<Vec<u8>>,
    /// Bound to a pcrlock policy: `Some` with its NV index handle (serialized; empty
    /// when the policy had none).
    pub pcrlock_nv: Option<Vec<u8>>,
    /// The signed-PCR-policy key: its PCR mask and PEM text.
    pub signing_key: Option<(u32, Vec<u8>)>,
    /// The parent key as serialized by Esys_TR_Serialize (lets the unlocker check it
    /// talks to the same key).
    pub srk: Vec<u8>,
}

fn mask_list(mask: u32) -> String {
    let pcrs: Vec<String> = (0..32)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| i.to_string())
        .collect();
    format!("[{}]", pcrs.join(","))
}

/// One shard's value as a string, several as an array of strings (upstream keeps the
/// single string for older unlockers).
fn shards(items: &[Vec<u8>], encode: fn(&[u8]) -> String) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{}\"", encode(i))).collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", quoted.join(",")),
    }
}

/// The token object as JSON text, keys in upstream's order.
pub fn token_json(t: &TokenFields) -> String {
    let mut s = format!(
        "{{\"type\":\"systemd-tpm2\",\"keyslots\":[\"{}\"],\"tpm2-blob\":{},\"tpm2-pcrs\":{}",
        t.keyslot,
        shards(&t.blobs, base64),
        mask_list(t.pcr_mask)
    );
    if let Some(bank) = bank_name(t.pcr_bank) {
        s.push_str(&format!(",\"tpm2-pcr-bank\":\"{bank}\""));
    }
    s.push_str(&format!(
        ",\"tpm2-policy-hash\":{}",
        shards(&t.policy_hashes, hex)
    ));
    if t.pcrlock_nv.is_some() {
        s.push_str(",\"tpm2_pcrlock\":true");
    }
    if let Some((mask, pem)) = &t.signing_key {
        s.push_str(&format!(
            ",\"tpm2_pubkey_pcrs\":{},\"tpm2_pubkey\":\"{}\"",
            mask_list(*mask),
            base64(pem)
        ));
    }
    s.push_str(&format!(",\"tpm2_srk\":\"{}\"", base64(&t.srk)));
    if let Some(nv) = t.pcrlock_nv.as_ref().filter(|nv| !nv.is_empty()) {
        s.push_str(&format!(",\"tpm2_pcrlock_nv\":\"{}\"", base64(nv)));
    }
    s.push('}');
    s
}

/// The keyslot passphrase for a sealed secret: its base64 text, as upstream enrolls it.
pub fn passphrase(secret: &[u8]) -> Vec<u8> {
    base64(secret).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_key_order_and_optional_bank() {
        let mut t = TokenFields {
            keyslot: 1,
            blobs: vec![vec![1, 2, 3]],
            pcr_mask: 1 << 7,
            pcr_bank: 0x000B,
            policy_hashes: vec![vec![0xab; 2]],
            pcrlock_nv: None,
            signing_key: None,
            srk: vec![0xff],
        };
        assert_eq!(
            token_json(&t),
            r#"{"type":"systemd-tpm2","keyslots":["1"],"tpm2-blob":"AQID","tpm2-pcrs":[7],"tpm2-pcr-bank":"sha256","tpm2-policy-hash":"abab","tpm2_srk":"/w=="}"#
        );
        t.pcr_mask = 0;
        t.pcr_bank = 0;
        t.signing_key = Some(((1 << 11) | (1 << 12), b"PEM".to_vec()));
        let j = token_json(&t);
        assert!(j.contains(r#""tpm2-pcrs":[],"tpm2-policy-hash""#), "{j}");
        assert!(
            j.ends_with(r#""tpm2_pubkey_pcrs":[11,12],"tpm2_pubkey":"UEVN","tpm2_srk":"/w=="}"#),
            "{j}"
        );
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["type"], "systemd-tpm2");
    }

    #[test]
    fn pcrlock_and_shards() {
        let t = TokenFields {
            keyslot: 0,
            blobs: vec![vec![1], vec![2]],
            pcr_mask: 0,
            pcr_bank: 0,
            policy_hashes: vec![vec![0xab], vec![0xcd]],
            pcrlock_nv: Some(vec![0xff]),
            signing_key: Some((1 << 11, b"PEM".to_vec())),
            srk: vec![0xff],
        };
        assert_eq!(
            token_json(&t),
            r#"{"type":"systemd-tpm2","keyslots":["0"],"tpm2-blob":["AQ==","Ag=="],"tpm2-pcrs":[],"tpm2-policy-hash":["ab","cd"],"tpm2_pcrlock":true,"tpm2_pubkey_pcrs":[11],"tpm2_pubkey":"UEVN","tpm2_srk":"/w==","tpm2_pcrlock_nv":"/w=="}"#
        );
    }
}
