//! Fixtures for the `website_*` tests. A real nginx runs on a 127.0.0.1 high port with its own
//! prefix, configuration, pid file and error log. A test CA issues the certificates, and a fake
//! `docker` executable serves the tests of a containerised nginx.
//!
//! nginx runs with `daemon off` as a child of the test, so the Drop guard always stops it.

#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use certwiz::pki::{Authority, Issued, LeafSpec};

use crate::support::Certwiz;

/// nginx as `.ci/run` installs it on Debian.
pub const NGINX: &str = "nginx";

/// Upper bound on nginx starting to accept connections, or stopping.
const NGINX_WAIT: Duration = Duration::from_secs(10);

/// Returns a loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// A test CA and the files the tests write its certificates to.
pub struct Pki {
    pub root: Authority,
    pub dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let root = Authority::new("certwiz website test root").expect("generate a root CA");
        fs::write(dir.path().join("ca.pem"), root.cert_pem()).expect("write ca.pem");
        Pki { root, dir }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Issues a leaf for `names`, valid for 90 days.
    pub fn valid(&self, names: &[&str]) -> Issued {
        self.root
            .issue(&LeafSpec::valid_for(names, 90))
            .expect("issue a leaf")
    }

    /// Issues a leaf for `names` that expired yesterday.
    pub fn expired(&self, names: &[&str]) -> Issued {
        self.root
            .issue(&LeafSpec::expired(names))
            .expect("issue a leaf")
    }
}

/// Writes `cert` (PEM, possibly several certificates) and `key` to `dir/cert_name` and
/// `dir/key_name`, creating `dir`, and returns both paths.
pub fn write_files(
    dir: &Path,
    cert_name: &str,
    cert: &str,
    key_name: &str,
    key: &str,
) -> (PathBuf, PathBuf) {
    fs::create_dir_all(dir).expect("create the certificate directory");
    let cert_path = dir.join(cert_name);
    let key_path = dir.join(key_name);
    fs::write(&cert_path, cert).expect("write the certificate");
    fs::write(&key_path, key).expect("write the key");
    fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).expect("narrow the key mode");
    (cert_path, key_path)
}

/// Replaces `path` by writing a new file beside it and renaming it over, as editors, certbot
/// and panels do: the path gets a new inode.
pub fn replace_by_rename(path: &Path, contents: &str) {
    let temporary = path.with_extension("new");
    fs::write(&temporary, contents).expect("write the replacement");
    fs::rename(&temporary, path).expect("rename the replacement over the file");
}

/// A real nginx with its own prefix directory:
/// `conf/nginx.conf` (includes `conf.d/*.conf`), `logs/error.log`, `logs/nginx.pid`, `tmp/`.
pub struct Nginx {
    pub prefix: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Nginx {
    /// Writes the main configuration; sites go in `conf.d` with [`Nginx::write_site`].
    pub fn new() -> Nginx {
        let prefix = tempfile::tempdir().expect("create the nginx prefix");
        for dir in ["conf/conf.d", "logs", "tmp"] {
            fs::create_dir_all(prefix.path().join(dir)).expect("create an nginx directory");
        }
        let nginx = Nginx {
            prefix,
            port: free_port(),
            child: None,
        };
        fs::write(nginx.main_conf(), nginx.main_conf_text()).expect("write nginx.conf");
        nginx
    }

    fn main_conf_text(&self) -> String {
        let prefix = self.prefix.path().display();
        format!(
            "worker_processes 1;\n\
             daemon off;\n\
             pid {prefix}/logs/nginx.pid;\n\
             error_log {prefix}/logs/error.log notice;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
             \x20   access_log off;\n\
             \x20   client_body_temp_path {prefix}/tmp/body;\n\
             \x20   proxy_temp_path {prefix}/tmp/proxy;\n\
             \x20   fastcgi_temp_path {prefix}/tmp/fastcgi;\n\
             \x20   uwsgi_temp_path {prefix}/tmp/uwsgi;\n\
             \x20   scgi_temp_path {prefix}/tmp/scgi;\n\
             \x20   include conf.d/*.conf;\n\
             }}\n"
        )
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.prefix.path().join(relative)
    }

    pub fn main_conf(&self) -> PathBuf {
        self.path("conf/nginx.conf")
    }

    pub fn error_log(&self) -> PathBuf {
        self.path("logs/error.log")
    }

    /// Writes `conf.d/NAME.conf`.
    pub fn write_site(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(&format!("conf/conf.d/{name}.conf"));
        fs::write(&path, text).expect("write a site configuration");
        path
    }

    /// Returns a server block on 127.0.0.1:PORT with TLS for `names` and the given files.
    pub fn server_block(&self, names: &str, cert: &Path, key: &Path, extra: &str) -> String {
        format!(
            "server {{\n    listen 127.0.0.1:{port} ssl{extra};\n    server_name {names};\n    ssl_certificate {cert};\n    ssl_certificate_key {key};\n    return 200 \"{names}\\n\";\n}}\n",
            port = self.port,
            cert = cert.display(),
            key = key.display(),
        )
    }

    /// Returns `nginx -p PREFIX -c CONF -e ERROR_LOG ARGS` as one command line. `-e` keeps
    /// nginx off the system error log before it has read the configuration.
    pub fn command(&self, args: &str) -> String {
        format!(
            "{NGINX} -p {} -c {} -e {} {args}",
            self.prefix.path().display(),
            self.main_conf().display(),
            self.error_log().display()
        )
    }

    /// Starts nginx and waits until it accepts connections on its port.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "nginx already runs");
        let words = shlex::split(&self.command("")).expect("the command splits");
        let child = Command::new(&words[0])
            .args(&words[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        self.child = Some(child);

        let deadline = Instant::now() + NGINX_WAIT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                let mut stderr = String::new();
                if let Some(pipe) = self.child.as_mut().and_then(|child| child.stderr.as_mut()) {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                panic!(
                    "nginx did not start ({exited:?}):\n{stderr}\n{}",
                    fs::read_to_string(self.error_log()).unwrap_or_default()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        // The pid file appears once the master has set up; reloads need it.
        let deadline = Instant::now() + NGINX_WAIT;
        while !self.path("logs/nginx.pid").exists() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns the master process id.
    pub fn master_pid(&self) -> i32 {
        let child = self.child.as_ref().expect("nginx runs");
        i32::try_from(child.id()).expect("pid fits i32")
    }

    /// Returns the ids of the master's child processes (the workers).
    pub fn worker_pids(&self) -> Vec<i32> {
        children_of(self.master_pid())
    }

    /// Returns the error log's text.
    pub fn error_log_text(&self) -> String {
        fs::read_to_string(self.error_log()).unwrap_or_default()
    }

    /// Returns `certwiz diagnose --non-interactive website` for `domain` on this nginx,
    /// with the nginx commands pointed at this prefix and short timeouts.
    pub fn diagnose(&self, domain: &str, ca_file: &Path, root: &Path) -> Certwiz {
        Certwiz::diagnose()
            .arg("website")
            .arg("--root")
            .arg(root)
            .arg("--json")
            .set("domain", domain)
            .set("host", "127.0.0.1")
            .set("port", self.port.to_string())
            .set("nginx_dump_command", self.command("-T"))
            .set("test_command", self.command("-t"))
            .set("reload_command", self.command("-s reload"))
            .set_path("ca_file", ca_file)
            .set("timeout_secs", "3")
            .set("verify_attempts", "5")
            .set("verify_interval_secs", "1")
            .set("action_timeout_secs", "20")
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let master = child.id() as i32;
        let workers = children_of(master);

        // SIGTERM is nginx's fast shutdown: the master stops its workers, then exits.
        // SAFETY: kill(2) with a pid this test started and a valid signal number.
        unsafe { libc::kill(master, libc::SIGTERM) };
        let deadline = Instant::now() + NGINX_WAIT;
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        for worker in workers {
            // SAFETY: as above; the workers were children of the master this test started.
            unsafe { libc::kill(worker, libc::SIGKILL) };
        }
    }
}

/// Returns the ids of the processes whose parent is `pid`, from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children = Vec::new();
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state, ppid, ...
        let parent = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<i32>().ok());
        if parent == Some(pid) {
            children.push(child);
        }
    }
    children.sort_unstable();
    children
}

/// A fake `docker` executable in its own directory, for [`Certwiz::env`]'s `PATH`.
///
/// No Docker engine can run on the test machine, so this script replaces the docker CLI:
/// `docker inspect [--type container] NAME` prints recorded JSON, and `docker exec NAME CMD...`
/// runs CMD on the host. The tests lay out a "container view" directory so that host nginx
/// sees the files as the container would.
pub struct FakeDocker {
    pub dir: tempfile::TempDir,
    pub container: String,
}

impl FakeDocker {
    /// Writes the script, which prints `inspect_json` when `container` is inspected.
    pub fn new(container: &str, inspect_json: &str) -> FakeDocker {
        let dir = tempfile::tempdir().expect("create the fake docker directory");
        let json_path = dir.path().join("inspect.json");
        fs::write(&json_path, inspect_json).expect("write the inspect JSON");
        let script = format!(
            "#!/bin/sh\n\
             # Stand-in for the docker CLI in certwiz tests: no Docker engine runs on the test machine.\n\
             log={log}\n\
             echo \"$*\" >> \"$log\"\n\
             case \"$1\" in\n\
             inspect)\n\
             \x20 shift\n\
             \x20 [ \"$1\" = --type ] && shift 2\n\
             \x20 if [ \"$1\" != '{container}' ]; then echo '[]'; echo \"Error: No such object: $1\" >&2; exit 1; fi\n\
             \x20 cat {json}\n\
             \x20 ;;\n\
             exec)\n\
             \x20 shift\n\
             \x20 if [ \"$1\" != '{container}' ]; then echo \"Error response from daemon: No such container: $1\" >&2; exit 1; fi\n\
             \x20 shift\n\
             \x20 exec \"$@\"\n\
             \x20 ;;\n\
             *)\n\
             \x20 echo \"fake docker: unsupported command: $1\" >&2\n\
             \x20 exit 1\n\
             \x20 ;;\n\
             esac\n",
            log = dir.path().join("calls.log").display(),
            json = json_path.display(),
        );
        let path = dir.path().join("docker");
        fs::write(&path, script).expect("write the fake docker");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .expect("make the fake docker executable");
        FakeDocker {
            dir,
            container: container.to_string(),
        }
    }

    /// Returns a `PATH` with the fake docker first.
    pub fn path_env(&self) -> String {
        let system = std::env::var("PATH").unwrap_or_default();
        format!("{}:{system}", self.dir.path().display())
    }

    /// Returns the argument lists the fake docker was called with, one line each.
    pub fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}
