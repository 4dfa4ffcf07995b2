//! `certwiz diagnose website` for nginx in a container, 1Panel style: paths mapped through the
//! container's mounts, commands run through `docker exec`, and a single-file bind mount that
//! still shows the replaced file.
//!
//! No Docker engine can run on the test machine, so a fake `docker` script prints recorded JSON
//! for `inspect` and runs `exec` commands on the host. The "container view" is a directory
//! of the test: a symlink stands in for a directory bind mount (it shows the host's changes),
//! and a hard link stands in for a single-file bind mount (it keeps the inode it was made with).
//! The real nginx reads the configuration and certificates through that view.

mod support;
mod website_support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use serde_json::json;
use support::{fingerprint, set_mtime_from_now};
use website_support::{replace_by_rename, write_files, FakeDocker, Nginx, Pki};

const CONTAINER: &str = "1Panel-openresty-test";
const DOMAIN: &str = "shop.example.test";
const MTIME_AHEAD_SECS: i64 = 5;

/// Host and container-view directories for one test.
struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            dir: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    /// Returns the 1Panel OpenResty `www` directory on the host.
    fn host_www(&self) -> PathBuf {
        self.dir
            .path()
            .join("host/opt/1panel/apps/openresty/openresty/www")
    }

    /// Returns the directory that plays the container's `/www`.
    fn view_www(&self) -> PathBuf {
        self.dir.path().join("container/www")
    }

    fn view(&self, relative: &str) -> PathBuf {
        self.dir.path().join("container").join(relative)
    }
}

fn inspect_json(mounts: serde_json::Value) -> String {
    json!([{ "Id": "0123abcd", "Name": format!("/{CONTAINER}"), "State": { "Running": true, "Pid": 1 }, "Mounts": mounts }]).to_string()
}

#[test]
fn directory_mount_site_reloads_through_docker_exec() {
    let pki = Pki::new();
    let layout = Layout::new();
    let ssl = layout.host_www().join("sites/shop/ssl");
    let expired = pki.expired(&[DOMAIN]);
    let (host_cert, _) = write_files(
        &ssl,
        "fullchain.pem",
        &expired.cert_pem,
        "privkey.pem",
        &expired.key_pem,
    );
    fs::create_dir_all(layout.view("")).expect("create the container view");
    std::os::unix::fs::symlink(layout.host_www(), layout.view_www())
        .expect("link the view of /www");

    let mut nginx = Nginx::new();
    let view_ssl = layout.view_www().join("sites/shop/ssl");
    nginx.write_site(
        "shop",
        &nginx.server_block(
            DOMAIN,
            &view_ssl.join("fullchain.pem"),
            &view_ssl.join("privkey.pem"),
            "",
        ),
    );
    nginx.start();

    let renewed = pki.valid(&[DOMAIN]);
    write_files(
        &ssl,
        "fullchain.pem",
        &renewed.cert_pem,
        "privkey.pem",
        &renewed.key_pem,
    );
    set_mtime_from_now(&host_cert, MTIME_AHEAD_SECS);

    let mounts = json!([{ "Type": "bind", "Source": layout.host_www(), "Destination": layout.view_www(), "RW": true }]);
    let docker = FakeDocker::new(CONTAINER, &inspect_json(mounts));
    let root = tempfile::tempdir().expect("create an empty root");
    let output = nginx
        .diagnose(DOMAIN, &pki.ca_file(), root.path())
        .set("container", CONTAINER)
        .env("PATH", &docker.path_env())
        .yes()
        .run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "test-config", "reload", "verify", "resolved"],
        "{}",
        report.pretty()
    );
    let mapped = report.finding("site.path_mapped");
    assert_eq!(
        mapped["evidence"]["container_path"],
        view_ssl.join("fullchain.pem").display().to_string()
    );
    assert_eq!(
        mapped["evidence"]["host_path"],
        host_cert.display().to_string()
    );
    assert_eq!(mapped["evidence"]["single_file"], false);
    assert_eq!(
        report.0["variables"]["cert_file"],
        host_cert.display().to_string()
    );

    let actions = report.actions();
    assert_eq!(actions.len(), 2, "{}", report.pretty());
    for action in actions {
        assert_eq!(action["command"][0], "docker", "{}", report.pretty());
        assert_eq!(action["command"][1], "exec");
        assert_eq!(action["command"][2], CONTAINER);
        assert_eq!(action["command"][3], "nginx");
    }
    assert_eq!(report.sha256("served"), fingerprint(&renewed.der));

    let calls = docker.calls();
    assert_eq!(
        calls[0],
        format!("inspect --type container {CONTAINER}"),
        "{calls:?}"
    );
    assert!(
        calls[1].starts_with(&format!("exec {CONTAINER} nginx -p ")),
        "{calls:?}"
    );
    assert!(calls[1].ends_with(" -T"), "{calls:?}");
    assert!(
        calls.iter().any(|call| call.ends_with(" -s reload")),
        "{calls:?}"
    );
}

#[test]
fn single_file_mount_is_stale_inode() {
    let pki = Pki::new();
    let layout = Layout::new();
    let host_ssl = layout.dir.path().join("host/certs");
    let expired = pki.expired(&[DOMAIN]);
    let (host_cert, host_key) = write_files(
        &host_ssl,
        "fullchain.pem",
        &expired.cert_pem,
        "privkey.pem",
        &expired.key_pem,
    );
    // The container was started with each file bind-mounted: the view shares the inodes.
    let view_ssl = layout.view("etc/ssl/shop");
    fs::create_dir_all(&view_ssl).expect("create the container view");
    let (view_cert, view_key) = (view_ssl.join("fullchain.pem"), view_ssl.join("privkey.pem"));
    fs::hard_link(&host_cert, &view_cert).expect("link the certificate into the view");
    fs::hard_link(&host_key, &view_key).expect("link the key into the view");

    let mut nginx = Nginx::new();
    nginx.write_site(
        "shop",
        &nginx.server_block(DOMAIN, &view_cert, &view_key, ""),
    );
    nginx.start();

    // The renewal replaces the host files, so they get new inodes the container never sees.
    let renewed = pki.valid(&[DOMAIN]);
    let old_inode = fs::metadata(&host_cert)
        .expect("stat the certificate")
        .ino();
    replace_by_rename(&host_cert, &renewed.cert_pem);
    replace_by_rename(&host_key, &renewed.key_pem);
    set_mtime_from_now(&host_cert, MTIME_AHEAD_SECS);
    let new_inode = fs::metadata(&host_cert)
        .expect("stat the certificate")
        .ino();
    assert_ne!(old_inode, new_inode);

    let mounts = json!([
        { "Type": "bind", "Source": host_cert, "Destination": view_cert, "RW": true },
        { "Type": "bind", "Source": host_key, "Destination": view_key, "RW": true },
    ]);
    let docker = FakeDocker::new(CONTAINER, &inspect_json(mounts));
    let root = tempfile::tempdir().expect("create an empty root");
    let output = nginx
        .diagnose(DOMAIN, &pki.ca_file(), root.path())
        .set("container", CONTAINER)
        .env("PATH", &docker.path_env())
        .yes()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "restart-container", "stale-inode"],
        "{}",
        report.pretty()
    );
    let stale = report.finding("site.stale_inode");
    assert_eq!(
        stale["evidence"]["container_path"],
        view_cert.display().to_string()
    );
    assert_eq!(
        stale["evidence"]["host_path"],
        host_cert.display().to_string()
    );
    assert_eq!(stale["evidence"]["container_inode"], old_inode);
    assert_eq!(stale["evidence"]["host_inode"], new_inode);
    assert_eq!(report.sha256("served"), fingerprint(&expired.der));
    assert_eq!(report.sha256("disk"), fingerprint(&renewed.der));
    assert!(
        report.actions().is_empty(),
        "a reload cannot help\n{}",
        report.pretty()
    );
    assert!(
        docker
            .calls()
            .iter()
            .any(|call| call == &format!("exec {CONTAINER} stat -L -c %i {}", view_cert.display())),
        "{:?}",
        docker.calls()
    );
}

#[test]
fn unknown_container_is_config_unknown() {
    let pki = Pki::new();
    let nginx = Nginx::new();
    let docker = FakeDocker::new(CONTAINER, &inspect_json(json!([])));
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose(DOMAIN, &pki.ca_file(), root.path())
        .set("container", "1Panel-openresty-gone")
        .env("PATH", &docker.path_env())
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "config-unknown"],
        "{}",
        report.pretty()
    );
    let failed = report.finding("site.container_failed");
    assert!(
        failed["message"]
            .as_str()
            .unwrap_or("")
            .contains("1Panel-openresty-gone"),
        "{}",
        report.pretty()
    );
    assert_eq!(
        docker.calls(),
        ["inspect --type container 1Panel-openresty-gone"]
    );
}

#[test]
fn container_option_is_rejected() {
    let root = tempfile::tempdir().expect("create an empty root");

    let output = support::Certwiz::diagnose()
        .arg("website")
        .arg("--root")
        .arg(root.path())
        .set("domain", DOMAIN)
        .set("container", "--privileged")
        .run();

    output.assert_code(2);
    assert!(
        output.stderr.contains("--privileged"),
        "{}",
        output.context()
    );
}
