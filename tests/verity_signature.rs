//! `verity_signature`: the signature partition repart writes for `Verity=signature` is
//! one that OpenSSL accepts. The signature (detached PKCS#7 over the root hash's hex
//! text) is checked with `openssl smime -verify` against the test certificate, its
//! `rootHash` with the table's, and its `certificateFingerprint` with
//! `openssl x509 -fingerprint -sha256`. A certificate that did not sign it must be
//! refused, so the check can fail. (The golden cases fs-verity-sig-* compare the
//! bytes with upstream's; this proves they are a valid signature at all.)

use std::path::Path;

use crate::common::*;

const SEED: &str = "e2a40bf9-73f1-4278-9160-49c031e7aedd";

fn sh(dir: &Path, script: &str) -> (i32, String) {
    let o = bash(dir, script, &child_env(base_path()));
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (o.status, text)
}

#[test]
fn verity_signature_verifies_with_openssl() {
    if sh(Path::new("/"), "command -v openssl").0 != 0 {
        eprintln!("verity_signature: skipped, no openssl command");
        return;
    }
    let dir = TempDir::new("repart-verity-sig");
    let keys = manifest_dir().join("testdata/keys");
    let setup = format!(
        "cp {k}/verity-test.key {k}/verity-test.crt {k}/verity-other.key . && chmod 600 *.key
         openssl req -x509 -new -key verity-other.key -out other.crt -days 3650 -subj /CN=other 2>/dev/null
         head -c 262144 /dev/zero | tr '\\0' v > data.img
         mkdir d
         printf '[Partition]\\nType=usr\\nCopyBlocks=%s/data.img\\nVerity=data\\nVerityMatchKey=u\\n' \"$PWD\" > d/1.conf
         printf '[Partition]\\nType=usr-verity\\nVerity=hash\\nVerityMatchKey=u\\nMinimize=best\\n' > d/2.conf
         printf '[Partition]\\nType=usr-verity-sig\\nVerity=signature\\nVerityMatchKey=u\\n' > d/3.conf",
        k = keys.display()
    );
    let (status, out) = sh(&dir.path, &setup);
    assert_eq!(status, 0, "{out}");
    let repart = repart_under_test();
    let (status, out) = sh(
        &dir.path,
        &format!(
            "{} --definitions=d --empty=create --size=auto --seed={SEED} --dry-run=no \
             --offline=yes --private-key=verity-test.key --certificate=verity-test.crt \
             --split=yes --json=short img.raw > table.json",
            repart.display()
        ),
    );
    assert_eq!(status, 0, "{out}");
    // The signature partition's JSON, its root hash as text, the DER signature.
    let extract = "tr -d '\\0' < img.usr-x86-64-verity-sig.raw > sig.json
        python3 -c 'import json,base64,sys
j = json.load(open(\"sig.json\"))
open(\"roothash.txt\", \"w\").write(j[\"rootHash\"])
open(\"sig.der\", \"wb\").write(base64.b64decode(j[\"signature\"]))
print(j[\"certificateFingerprint\"])
print(json.load(open(\"table.json\"))[0][\"roothash\"])'";
    let (status, out) = sh(&dir.path, extract);
    assert_eq!(status, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let root = std::fs::read_to_string(dir.path.join("roothash.txt")).unwrap();
    assert_eq!(
        lines.get(1).copied(),
        Some(root.as_str()),
        "rootHash vs table"
    );
    let (_, fingerprint) = sh(
        &dir.path,
        "openssl x509 -in verity-test.crt -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f",
    );
    assert_eq!(lines.first().copied(), Some(fingerprint.trim()));
    let verify = |cert: &str| {
        sh(
            &dir.path,
            &format!(
                "openssl smime -verify -binary -inform DER -in sig.der -content roothash.txt \
                 -certfile {cert} -nointern -CAfile {cert} -purpose any > /dev/null"
            ),
        )
    };
    let (status, out) = verify("verity-test.crt");
    assert_eq!(status, 0, "openssl refused our signature: {out}");
    let (status, _) = verify("other.crt");
    assert_ne!(
        status, 0,
        "a foreign certificate must not verify the signature"
    );
}
