//! Verdicts on chains that `openssl s_server` serves with only its leaf: a missing intermediate
//! that the user's certificate file holds, and a leaf issued directly by a private root.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::{fingerprint, openssl_rsa_pki, set_mtime_from_now, Site};

/// Bound on `openssl s_server` printing the port it accepts on.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);

/// An `openssl s_server` on 127.0.0.1 that sends only the certificate in `cert` (no chain),
/// stopped when dropped.
struct OpensslServer {
    child: Child,
    port: u16,
}

impl OpensslServer {
    fn start(cert: &Path, key: &Path) -> OpensslServer {
        let mut child = Command::new("/usr/bin/openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-www", "-cert"])
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");

        // The stdout reader keeps draining after the port line, so the server never blocks on a
        // full pipe.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
                if let Some(address) = line.trim().strip_prefix("ACCEPT ") {
                    let _ = sender.send(address.to_string());
                }
                line.clear();
            }
            let _ = reader.read_to_end(&mut Vec::new());
        });

        let address = match receiver.recv_timeout(SERVER_START_TIMEOUT) {
            Ok(address) => address,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("openssl s_server printed no ACCEPT line: {error}");
            }
        };
        let port = address
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in ACCEPT {address}"));
        OpensslServer { child, port }
    }
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        // Errors are ignored because the server may have exited already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("/usr/bin/openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes an RSA root (`root.pem`), an ECDSA intermediate under it (`intermediate.pem`) and an
/// ECDSA leaf for localhost under that (`leaf.pem`, `leaf.key`) in `dir`. No certificate names
/// where to download its issuer (no AIA extension).
fn openssl_three_level_pki(dir: &Path) {
    fs::write(dir.join("intermediate.cnf"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        .expect("write intermediate extensions");
    fs::write(
        dir.join("leaf.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
         basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("write leaf extensions");

    #[rustfmt::skip]
    let steps: [&[&str]; 5] = [
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
          "-subj", "/CN=verdicts RSA root",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign",
          "-keyout", "root.key", "-out", "root.pem"],
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-subj", "/CN=verdicts ECDSA intermediate",
          "-keyout", "intermediate.key", "-out", "intermediate.csr"],
        &["x509", "-req", "-in", "intermediate.csr", "-CA", "root.pem", "-CAkey", "root.key",
          "-set_serial", "0x1001", "-days", "30", "-extfile", "intermediate.cnf",
          "-out", "intermediate.pem"],
        &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-subj", "/CN=localhost", "-keyout", "leaf.key", "-out", "leaf.csr"],
        &["x509", "-req", "-in", "leaf.csr", "-CA", "intermediate.pem", "-CAkey", "intermediate.key",
          "-set_serial", "0x2002", "-days", "30", "-extfile", "leaf.cnf", "-out", "leaf.pem"],
    ];
    for args in steps {
        openssl(dir, args);
    }
}

/// Returns the DER of the first certificate in the PEM file at `path`.
fn der_of(path: &Path) -> Vec<u8> {
    let pem = fs::read(path).expect("read a PEM certificate");
    let (_, parsed) = x509_parser::pem::parse_x509_pem(&pem).expect("openssl writes PEM");
    parsed.contents
}

fn has_ca_issuers_url(der: &[u8]) -> bool {
    use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};
    let (_, certificate) = X509Certificate::from_der(der).expect("certificate parses");
    certificate
        .extensions()
        .iter()
        .any(|extension| matches!(extension.parsed_extension(), ParsedExtension::AuthorityInfoAccess(_)))
}

#[test]
fn missing_intermediate_in_own_file_is_chain_incomplete() {
    let site = Site::new();
    let dir = site.dir.path();
    openssl_three_level_pki(dir);
    let leaf_der = der_of(&dir.join("leaf.pem"));
    assert!(!has_ca_issuers_url(&leaf_der), "the leaf must not name its issuer's URL");

    // The flow reads leaf + intermediate, but the server loads only the leaf.
    let leaf_pem = fs::read_to_string(dir.join("leaf.pem")).expect("read leaf.pem");
    let intermediate_pem = fs::read_to_string(dir.join("intermediate.pem")).expect("read intermediate.pem");
    fs::write(site.cert_file(), format!("{leaf_pem}{intermediate_pem}")).expect("write site.crt");
    fs::copy(dir.join("leaf.key"), site.key_file()).expect("copy leaf.key");
    fs::copy(dir.join("root.pem"), site.ca_file()).expect("copy root.pem");
    set_mtime_from_now(&site.cert_file(), -60);
    let server = OpensslServer::start(&dir.join("leaf.pem"), &dir.join("leaf.key"));
    let answers = site.answers_file("reconfirm = \"cannot\"\n");

    let output = site.diagnose_port(server.port).answers(&answers).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "inspect-logs"]);
    let ids = report.finding_ids();
    assert_eq!(
        ids[..4],
        ["served.chain_incomplete", "disk.valid", "process.started_after_change", "served.matches_disk"],
        "{}",
        report.pretty()
    );
    assert!(!ids.contains(&"served.untrusted"), "{ids:?}");
    let incomplete = report.finding("served.chain_incomplete");
    assert_eq!(incomplete["evidence"]["chain_length"], 1);
    assert_eq!(incomplete["evidence"]["verdict"], "ChainIncomplete");
    assert!(incomplete["message"].as_str().unwrap_or_default().contains("CN=verdicts ECDSA intermediate"), "{incomplete}");
    assert_eq!(report.sha256("served"), fingerprint(&leaf_der));
    assert!(report.actions().is_empty(), "{}", report.pretty());
}

#[test]
fn private_root_leaf_alone_is_untrusted() {
    let site = Site::new();
    let rsa = openssl_rsa_pki(site.dir.path());
    // The certificate file ends with the root, which servers need not send; the site CA in
    // ca_file did not issue this leaf.
    let leaf_pem = fs::read_to_string(&rsa.cert_file).expect("read the RSA leaf");
    let root_pem = fs::read_to_string(&rsa.ca_file).expect("read the RSA root");
    fs::write(site.cert_file(), format!("{leaf_pem}{root_pem}")).expect("write site.crt");
    fs::copy(&rsa.key_file, site.key_file()).expect("copy the RSA key");
    set_mtime_from_now(&site.cert_file(), -60);
    let server = OpensslServer::start(&rsa.cert_file, &rsa.key_file);

    let output = site.diagnose_port(server.port).json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "healthy", "{}", report.pretty());
    let ids = report.finding_ids();
    assert!(!ids.contains(&"served.chain_incomplete"), "{ids:?}");
    let untrusted = report.finding("served.untrusted");
    assert_eq!(untrusted["severity"], "warning");
    assert_eq!(untrusted["evidence"]["verdict"], "Untrusted");
    assert_eq!(untrusted["evidence"]["top_issuer"], "CN=certwiz itest RSA root");
    let message = untrusted["message"].as_str().unwrap_or_default();
    assert!(message.contains("does not lead to a trusted CA"), "{message}");
    assert!(message.contains("CN=certwiz itest RSA root"), "{message}");
}
