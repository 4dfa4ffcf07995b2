//! Docker containers seen from the host: `docker inspect` mounts, container paths mapped to
//! host paths, and commands run inside a container with `docker exec`.
//!
//! Every command runs as an argument list without a shell, with a timeout.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncReadExt;

/// Most bytes kept from one output stream of a command whose output certwiz parses.
pub const MAX_CAPTURE_BYTES: u64 = 16 * 1024 * 1024;

/// A command that could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("program not found: {program}")]
    NotFound { program: String },

    #[error("failed to run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },

    #[error("{program} did not finish within {seconds} s")]
    TimedOut { program: String, seconds: u64 },

    #[error("{program} printed more than {max} bytes")]
    TooLarge { program: String, max: u64 },

    #[error("empty command")]
    Empty,
}

/// Exit code and whole output of a finished command.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Exit code, or `None` when a signal ended the program.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Captured {
    /// Returns whether the program exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Returns the last non-empty line of stderr, trimmed, for messages.
    pub fn stderr_last_line(&self) -> &str {
        self.stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
    }
}

/// Runs `argv` with stdin from /dev/null and returns its exit code and whole output (up to
/// [`MAX_CAPTURE_BYTES`] per stream). The program is killed when `timeout` passes.
///
/// Unlike [`crate::action::run_command`], which keeps only the tail of the output of a repair
/// command, this keeps all of it, because the output is data to parse (`nginx -T`, JSON).
pub async fn capture(argv: &[String], timeout: Duration) -> Result<Captured, CommandError> {
    let (program, arguments) = argv.split_first().ok_or(CommandError::Empty)?;
    let mut child = tokio::process::Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => CommandError::NotFound {
                program: program.clone(),
            },
            _ => CommandError::Spawn {
                program: program.clone(),
                source,
            },
        })?;

    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = async {
        let (stdout, stderr) = tokio::join!(read_limited(stdout), read_limited(stderr));
        let status = child.wait().await;
        (stdout, stderr, status)
    };

    // Dropping the future on timeout drops the child, and `kill_on_drop` kills it.
    let (stdout, stderr, status) =
        tokio::time::timeout(timeout, finished)
            .await
            .map_err(|_| CommandError::TimedOut {
                program: program.clone(),
                seconds: timeout.as_secs(),
            })?;
    let status = status.map_err(|source| CommandError::Spawn {
        program: program.clone(),
        source,
    })?;
    let (Some(stdout), Some(stderr)) = (stdout, stderr) else {
        return Err(CommandError::TooLarge {
            program: program.clone(),
            max: MAX_CAPTURE_BYTES,
        });
    };

    Ok(Captured {
        code: status.code(),
        stdout,
        stderr,
    })
}

/// Reads a pipe to its end, or returns `None` when it contains more than [`MAX_CAPTURE_BYTES`].
async fn read_limited(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Option<String> {
    let Some(pipe) = pipe else {
        return Some(String::new());
    };
    let mut bytes = Vec::new();
    // A read error ends the output early, and the exit code still shows whether the command worked.
    let _ = pipe
        .take(MAX_CAPTURE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await;
    if bytes.len() as u64 > MAX_CAPTURE_BYTES {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// A failed Docker query.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error(transparent)]
    Command(#[from] CommandError),

    #[error("`{command}` failed with exit code {code:?}: {stderr}")]
    Failed {
        command: String,
        code: Option<i32>,
        stderr: String,
    },

    #[error("no container named {container}")]
    NoSuchContainer { container: String },

    #[error(
        "`docker inspect {container}` printed JSON that does not describe a container: {detail}"
    )]
    Json { container: String, detail: String },

    #[error("`stat` in container {container} printed {output:?} for {}, not an inode number", path.display())]
    Inode {
        container: String,
        path: PathBuf,
        output: String,
    },
}

/// One mount of a container, as `docker inspect` lists it under `Mounts`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs`, ...
    #[serde(rename = "Type", default)]
    pub kind: String,
    /// Path on the host (for a volume, its data directory).
    #[serde(rename = "Source", default)]
    pub source: PathBuf,
    /// Path inside the container.
    #[serde(rename = "Destination")]
    pub destination: PathBuf,
    #[serde(rename = "RW", default)]
    pub read_write: bool,
}

/// Facts about a container that certwiz uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Container {
    /// The name or id the user gave.
    pub reference: String,
    pub mounts: Vec<Mount>,
    /// The overlay's merged directory: the container's whole filesystem seen from the host.
    pub merged_dir: Option<PathBuf>,
    pub running: bool,
}

/// Location of a container path on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPath {
    /// Under a mount. `single_file` is true when the mount is this very file, a single-file
    /// bind mount that keeps showing the file's old inode after the host replaces the file.
    Mounted {
        host: PathBuf,
        mount: Mount,
        single_file: bool,
    },
    /// In the container's own filesystem, which a renewal on the host does not reach. `merged`
    /// is the same path through the overlay's merged directory, when Docker reports one.
    ContainerLayer { merged: Option<PathBuf> },
}

impl HostPath {
    /// Returns the host path to read the file at, if there is one.
    pub fn readable(&self) -> Option<&Path> {
        match self {
            HostPath::Mounted { host, .. } => Some(host),
            HostPath::ContainerLayer { merged } => merged.as_deref(),
        }
    }
}

impl Container {
    /// Maps an absolute path inside the container to the host, through the mount with the
    /// longest destination that contains it.
    pub fn host_path(&self, container_path: &Path) -> HostPath {
        let path = crate::nginx::normalize(container_path);
        let mount = self
            .mounts
            .iter()
            .filter(|mount| path.starts_with(&mount.destination))
            .max_by_key(|mount| mount.destination.components().count());

        match mount {
            Some(mount) => {
                // `starts_with` held above, so the prefix strips.
                let rest = path
                    .strip_prefix(&mount.destination)
                    .unwrap_or(Path::new(""));
                let host = if rest.as_os_str().is_empty() {
                    mount.source.clone()
                } else {
                    mount.source.join(rest)
                };
                let single_file =
                    rest.as_os_str().is_empty() && mount.kind == "bind" && !mount.source.is_dir();
                HostPath::Mounted {
                    host,
                    mount: mount.clone(),
                    single_file,
                }
            }
            None => {
                let merged = self
                    .merged_dir
                    .as_ref()
                    .map(|dir| dir.join(path.strip_prefix("/").unwrap_or(&path)));
                HostPath::ContainerLayer { merged }
            }
        }
    }

    /// Maps a container path to the host path to read, or returns it unchanged when no host
    /// path reaches it.
    pub fn to_host(&self, container_path: &Path) -> PathBuf {
        self.host_path(container_path)
            .readable()
            .map_or_else(|| container_path.to_path_buf(), Path::to_path_buf)
    }
}

#[derive(Deserialize)]
struct RawContainer {
    #[serde(rename = "Mounts", default)]
    mounts: Vec<Mount>,
    #[serde(rename = "GraphDriver", default)]
    graph_driver: Option<RawGraphDriver>,
    #[serde(rename = "State", default)]
    state: Option<RawState>,
}

#[derive(Deserialize)]
struct RawGraphDriver {
    #[serde(rename = "Data", default)]
    data: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct RawState {
    #[serde(rename = "Running", default)]
    running: bool,
}

/// Returns `docker exec CONTAINER ARGV...`.
pub fn exec_argv(container: &str, argv: &[String]) -> Vec<String> {
    let mut full = vec![
        "docker".to_string(),
        "exec".to_string(),
        container.to_string(),
    ];
    full.extend(argv.iter().cloned());
    full
}

/// Runs `docker inspect CONTAINER` and reads its mounts.
pub async fn inspect(container: &str, timeout: Duration) -> Result<Container, DockerError> {
    let argv = ["docker", "inspect", "--type", "container", container].map(str::to_string);
    let output = capture(&argv, timeout).await?;
    if !output.success() {
        if output.stdout.trim() == "[]" {
            return Err(DockerError::NoSuchContainer {
                container: container.to_string(),
            });
        }
        return Err(DockerError::Failed {
            command: argv.join(" "),
            code: output.code,
            stderr: output.stderr_last_line().to_string(),
        });
    }
    parse_inspect(&output.stdout, container)
}

/// Parses the JSON array `docker inspect` prints for one container.
pub fn parse_inspect(json: &str, container: &str) -> Result<Container, DockerError> {
    let invalid = |detail: String| DockerError::Json {
        container: container.to_string(),
        detail,
    };
    let raw: Vec<RawContainer> =
        serde_json::from_str(json).map_err(|error| invalid(error.to_string()))?;
    let Some(first) = raw.into_iter().next() else {
        return Err(DockerError::NoSuchContainer {
            container: container.to_string(),
        });
    };
    if let Some(mount) = first
        .mounts
        .iter()
        .find(|mount| !mount.destination.is_absolute())
    {
        return Err(invalid(format!(
            "mount destination {} is not an absolute path",
            mount.destination.display()
        )));
    }

    let merged_dir = first
        .graph_driver
        .and_then(|driver| driver.data)
        .and_then(|data| data.get("MergedDir").cloned())
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from);
    Ok(Container {
        reference: container.to_string(),
        mounts: first.mounts,
        merged_dir,
        running: first.state.is_some_and(|state| state.running),
    })
}

/// Returns the inode number the container sees at `path`, from `docker exec C stat -c %i PATH`.
pub async fn inode_in_container(
    container: &str,
    path: &Path,
    timeout: Duration,
) -> Result<u64, DockerError> {
    let stat = ["stat", "-L", "-c", "%i"].map(str::to_string);
    let mut argv = exec_argv(container, &stat);
    argv.push(path.display().to_string());

    let output = capture(&argv, timeout).await?;
    if !output.success() {
        return Err(DockerError::Failed {
            command: argv.join(" "),
            code: output.code,
            stderr: output.stderr_last_line().to_string(),
        });
    }
    let text = output.stdout.trim();
    text.parse().map_err(|_| DockerError::Inode {
        container: container.to_string(),
        path: path.to_path_buf(),
        output: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSPECT: &str = r#"[{
        "Id": "4f1c",
        "Name": "/1Panel-openresty-abcd",
        "State": { "Status": "running", "Running": true, "Pid": 4242 },
        "GraphDriver": { "Name": "overlay2", "Data": { "MergedDir": "/var/lib/docker/overlay2/4f1c/merged" } },
        "Mounts": [
            { "Type": "bind", "Source": "/opt/1panel/apps/openresty/openresty/www", "Destination": "/www", "Mode": "", "RW": true, "Propagation": "rprivate" },
            { "Type": "bind", "Source": "/opt/1panel/apps/openresty/openresty/www/conf.d", "Destination": "/usr/local/openresty/nginx/conf/conf.d", "RW": true },
            { "Type": "bind", "Source": "/opt/1panel/apps/openresty/openresty/conf/nginx.conf", "Destination": "/usr/local/openresty/nginx/conf/nginx.conf", "RW": true },
            { "Type": "volume", "Name": "logs", "Source": "/var/lib/docker/volumes/logs/_data", "Destination": "/var/log/nginx", "Driver": "local", "RW": true }
        ]
    }]"#;

    fn container() -> Container {
        parse_inspect(INSPECT, "1Panel-openresty-abcd").expect("valid inspect output")
    }

    #[test]
    fn inspect_reads_mounts_and_state() {
        let container = container();

        assert_eq!(container.mounts.len(), 4);
        assert_eq!(container.mounts[3].kind, "volume");
        assert!(container.running);
        assert_eq!(
            container.merged_dir.as_deref(),
            Some(Path::new("/var/lib/docker/overlay2/4f1c/merged"))
        );
    }

    #[test]
    fn directory_mount_maps_path() {
        let mapped = container().host_path(Path::new("/www/sites/a.test/ssl/fullchain.pem"));

        let HostPath::Mounted {
            host, single_file, ..
        } = mapped
        else {
            panic!("{mapped:?}")
        };
        assert_eq!(
            host,
            Path::new("/opt/1panel/apps/openresty/openresty/www/sites/a.test/ssl/fullchain.pem")
        );
        assert!(!single_file);
    }

    #[test]
    fn longest_destination_wins() {
        let host = container().to_host(Path::new("/usr/local/openresty/nginx/conf/conf.d/a.conf"));

        assert_eq!(
            host,
            Path::new("/opt/1panel/apps/openresty/openresty/www/conf.d/a.conf")
        );
    }

    #[test]
    fn exact_file_mount_is_single_file() {
        let mapped = container().host_path(Path::new("/usr/local/openresty/nginx/conf/nginx.conf"));

        let HostPath::Mounted {
            host, single_file, ..
        } = mapped
        else {
            panic!("{mapped:?}")
        };
        assert_eq!(
            host,
            Path::new("/opt/1panel/apps/openresty/openresty/conf/nginx.conf")
        );
        assert!(single_file);
    }

    #[test]
    fn unmounted_path_is_in_container_layer() {
        let mapped = container().host_path(Path::new("/etc/ssl/site.pem"));

        assert_eq!(
            mapped,
            HostPath::ContainerLayer {
                merged: Some(PathBuf::from(
                    "/var/lib/docker/overlay2/4f1c/merged/etc/ssl/site.pem"
                ))
            }
        );
    }

    #[test]
    fn prefix_must_end_at_component() {
        let mapped = container().host_path(Path::new("/wwwdata/x.pem"));

        assert!(
            matches!(mapped, HostPath::ContainerLayer { .. }),
            "{mapped:?}"
        );
    }

    #[test]
    fn empty_array_is_no_such_container() {
        let error = parse_inspect("[]", "gone").expect_err("must fail");

        assert!(
            matches!(error, DockerError::NoSuchContainer { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn garbage_is_json_error() {
        let error = parse_inspect("Error: No such object", "x").expect_err("must fail");

        assert!(matches!(error, DockerError::Json { .. }), "{error:?}");
    }

    #[test]
    fn relative_destination_is_rejected() {
        let json = r#"[{"Mounts": [{"Type": "bind", "Source": "/a", "Destination": "b"}]}]"#;

        let error = parse_inspect(json, "x").expect_err("must fail");

        assert!(
            error.to_string().contains("not an absolute path"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn capture_keeps_whole_output() {
        let script =
            "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2; exit 3";
        let argv = ["sh", "-c", script].map(str::to_string);

        let output = capture(&argv, Duration::from_secs(20))
            .await
            .expect("sh runs");

        assert_eq!(output.code, Some(3));
        assert!(output.stdout.starts_with("line-0\n"));
        assert!(output.stdout.ends_with("line-19999\n"));
        assert_eq!(output.stderr_last_line(), "oops");
    }

    #[tokio::test]
    async fn capture_times_out() {
        let argv = ["sleep", "30"].map(str::to_string);

        let error = capture(&argv, Duration::from_secs(1))
            .await
            .expect_err("must time out");

        assert!(
            matches!(error, CommandError::TimedOut { seconds: 1, .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn capture_missing_program() {
        let argv = ["certwiz-no-such-program".to_string()];

        let error = capture(&argv, Duration::from_secs(5))
            .await
            .expect_err("must fail");

        assert!(matches!(error, CommandError::NotFound { .. }), "{error:?}");
    }
}
