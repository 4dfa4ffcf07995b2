//! Malformed input never panics: mutated PEM and DER, mutated flow files, mutated log lines.
//!
//! The mutations come from a fixed-seed generator, so a failure reproduces with the same input.

use certwiz::certs::{parse_chain, parse_key};
use certwiz::flow::Flow;
use certwiz::pki::{Authority, LeafSpec};

/// A small xorshift generator; the tests need repeatable, not secure, randomness.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    /// Returns `input` with a few bytes flipped, removed, duplicated or cut off.
    fn mutate(&mut self, input: &[u8]) -> Vec<u8> {
        let mut bytes = input.to_vec();
        for _ in 0..=self.below(4) {
            if bytes.is_empty() {
                break;
            }
            let at = self.below(bytes.len());
            match self.below(4) {
                0 => bytes[at] ^= 1 << self.below(8),
                1 => {
                    bytes.remove(at);
                }
                2 => {
                    let byte = bytes[at];
                    bytes.insert(at, byte);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    }
}

const ROUNDS: usize = 3000;

fn sample_chain() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let root = Authority::new("Hostile Root").unwrap();
    let intermediate = root.intermediate("Hostile Intermediate").unwrap();
    let leaf = intermediate.issue(&LeafSpec::valid_for(&["example.test", "127.0.0.1"], 30)).unwrap();
    let pem = format!("{}{}", leaf.cert_pem, intermediate.cert_pem());
    (pem.into_bytes(), leaf.der.clone(), leaf.key_pem.into_bytes())
}

#[test]
fn mutated_pem_chains_never_panic() {
    let (pem, _, _) = sample_chain();
    let mut mutator = Mutator(0x5eed_0001);
    let mut rejected = 0;
    for _ in 0..ROUNDS {
        if parse_chain(&mutator.mutate(&pem)).is_err() {
            rejected += 1;
        }
    }
    // Most mutations break the base64 or the DER inside; a parser that accepts everything is broken.
    assert!(rejected > ROUNDS / 4, "only {rejected} of {ROUNDS} mutated chains were rejected");
}

#[test]
fn mutated_der_never_panics() {
    let (_, der, _) = sample_chain();
    let mut mutator = Mutator(0x5eed_0002);
    let mut rejected = 0;
    for _ in 0..ROUNDS {
        if parse_chain(&mutator.mutate(&der)).is_err() {
            rejected += 1;
        }
    }
    assert!(rejected > ROUNDS / 4, "only {rejected} of {ROUNDS} mutated certificates were rejected");
}

#[test]
fn mutated_keys_never_panic() {
    let (_, _, key) = sample_chain();
    let mut mutator = Mutator(0x5eed_0003);
    for _ in 0..ROUNDS {
        let _ = parse_key(&mutator.mutate(&key));
    }
}

#[test]
fn mutated_flow_files_never_panic() {
    let flow = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/flows/panel.toml")).unwrap();
    let mut mutator = Mutator(0x5eed_0004);
    let mut rejected = 0;
    for _ in 0..ROUNDS {
        let bytes = mutator.mutate(&flow);
        let text = String::from_utf8_lossy(&bytes);
        match Flow::parse(&text, "mutated.toml") {
            Ok(_) => {}
            Err(errors) => {
                rejected += 1;
                assert!(!errors.0.is_empty());
                assert!(errors.to_string().starts_with("mutated.toml"), "{errors}");
            }
        }
    }
    assert!(rejected > ROUNDS / 4, "only {rejected} of {ROUNDS} mutated flows were rejected");
}

#[test]
fn mutated_log_lines_never_panic() {
    let lines = [
        "[2026-11-30 03:00:01] [INFO] listen at https://0.0.0.0:10086",
        "2026/11/30 03:00:02 http: TLS handshake error from 1.2.3.4:5555: remote error: tls: bad certificate",
        "panic: open /opt/1panel/secret/server.crt: no such file or directory",
        "2026/11/30 03:00:02 [emerg] 1#1: cannot load certificate \"/www/sites/a/ssl/fullchain.pem\"",
        "[2026-11-30 03:00:01] [ERROR] 更新系统证书失败",
    ];
    let mut mutator = Mutator(0x5eed_0005);
    for _ in 0..ROUNDS {
        let line = lines[mutator.below(lines.len())];
        let bytes = mutator.mutate(line.as_bytes());
        let _ = certwiz::logs::classify(&String::from_utf8_lossy(&bytes));
    }
}
