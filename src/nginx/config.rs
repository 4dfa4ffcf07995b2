//! A whole nginx configuration with its `include` directives expanded, read from the output of
//! `nginx -T` or from the configuration files themselves.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::glob;
use super::syntax::{parse_text, Directive};
use super::NginxError;

/// Largest configuration file read from disk.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Most configuration files one configuration may consist of.
pub const MAX_FILES: usize = 2000;

/// Deepest `include` nesting followed; deeper nesting is almost certainly a file including itself.
pub const MAX_INCLUDE_DEPTH: usize = 16;

/// Header line `nginx -T` prints before the text of each file.
const DUMP_HEADER: &str = "# configuration file ";

/// A configuration with every `include` replaced by the directives of the files it names.
#[derive(Debug, Clone)]
pub struct Config {
    /// The main configuration file, as nginx names it (inside the container for a container).
    pub main_file: PathBuf,
    pub directives: Vec<Directive>,
    /// Every file the configuration consists of, as nginx names them, in the order read.
    pub files: Vec<PathBuf>,
}

impl Config {
    /// Returns the directory of the main file, which nginx resolves relative `include` and
    /// `ssl_certificate` paths against.
    pub fn conf_prefix(&self) -> &Path {
        self.main_file.parent().unwrap_or(Path::new("/"))
    }

    /// Resolves a path from a directive against the configuration prefix and removes `.` and
    /// `..` components.
    pub fn resolve(&self, path: &str) -> PathBuf {
        normalize(&self.conf_prefix().join(path))
    }
}

/// Parses the output of `nginx -T`: the text of every file, each after a
/// `# configuration file PATH:` header, the main file first.
pub fn parse_dump(text: &str) -> Result<Config, NginxError> {
    let sections = split_dump(text)?;
    let mut parsed = BTreeMap::new();
    let mut order = Vec::new();
    for (path, body) in &sections {
        let directives = parse_text(body, path)?;
        order.push(path.clone());
        parsed.insert(path.clone(), directives);
    }

    // `split_dump` returns at least one section, so the main file exists.
    let main_file = order[0].clone();
    let source = DumpSource { parsed: &parsed };
    let mut expander = Expander {
        source: &source,
        conf_prefix: main_file.parent().unwrap_or(Path::new("/")).to_path_buf(),
        files: Vec::new(),
    };
    let directives = expander.expand_file(&main_file, 0)?;
    Ok(Config {
        main_file,
        directives,
        files: order,
    })
}

/// Reads the main configuration file `main_file` and every file it includes from disk.
/// `to_host` turns a path as nginx names it into the path to read, e.g. through a container's
/// mounts; it is the identity for nginx on the host.
pub fn read_files(
    main_file: &Path,
    to_host: &dyn Fn(&Path) -> PathBuf,
) -> Result<Config, NginxError> {
    let main_file = normalize(main_file);
    let source = DiskSource { to_host };
    let mut expander = Expander {
        source: &source,
        conf_prefix: main_file.parent().unwrap_or(Path::new("/")).to_path_buf(),
        files: Vec::new(),
    };
    let directives = expander.expand_file(&main_file, 0)?;
    let files = expander.files;
    Ok(Config {
        main_file,
        directives,
        files,
    })
}

/// Splits a dump into (path, text) pairs.
fn split_dump(text: &str) -> Result<Vec<(PathBuf, String)>, NginxError> {
    let mut sections: Vec<(PathBuf, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if let Some(path) = trimmed
            .strip_prefix(DUMP_HEADER)
            .and_then(|rest| rest.strip_suffix(':'))
        {
            sections.push((PathBuf::from(path), String::new()));
            continue;
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
        }
    }
    if sections.is_empty() {
        return Err(NginxError::NotADump);
    }
    Ok(sections)
}

/// Where the files an `include` names come from.
trait IncludeSource {
    /// Returns the files matching `pattern` (an absolute path, maybe with wildcards), sorted.
    fn matching(&self, pattern: &Path) -> Vec<PathBuf>;

    /// Returns the directives of one file; `None` when the file is not there.
    fn directives(&self, path: &Path) -> Result<Option<Vec<Directive>>, NginxError>;
}

struct DumpSource<'a> {
    parsed: &'a BTreeMap<PathBuf, Vec<Directive>>,
}

impl IncludeSource for DumpSource<'_> {
    fn matching(&self, pattern: &Path) -> Vec<PathBuf> {
        // BTreeMap keys are sorted, as glob(3) sorts its results.
        self.parsed
            .keys()
            .filter(|path| glob::path_matches(pattern, path))
            .cloned()
            .collect()
    }

    fn directives(&self, path: &Path) -> Result<Option<Vec<Directive>>, NginxError> {
        Ok(self.parsed.get(path).cloned())
    }
}

struct DiskSource<'a> {
    to_host: &'a dyn Fn(&Path) -> PathBuf,
}

impl IncludeSource for DiskSource<'_> {
    fn matching(&self, pattern: &Path) -> Vec<PathBuf> {
        // Wildcards are expanded on the host side, then turned back into nginx's names by
        // swapping the matched host prefix for the pattern's fixed prefix.
        let fixed: PathBuf = pattern
            .components()
            .take_while(|c| !glob::has_wildcard(&c.as_os_str().to_string_lossy()))
            .collect();
        let host_fixed = (self.to_host)(&fixed);
        let rest: PathBuf = pattern
            .components()
            .skip(fixed.components().count())
            .collect();
        glob::expand_on_disk(&host_fixed.join(rest))
            .into_iter()
            .filter_map(|host| {
                host.strip_prefix(&host_fixed)
                    .ok()
                    .map(|tail| fixed.join(tail))
            })
            .collect()
    }

    fn directives(&self, path: &Path) -> Result<Option<Vec<Directive>>, NginxError> {
        let host = (self.to_host)(path);
        let metadata = match std::fs::metadata(&host) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(NginxError::Read { path: host, source }),
        };
        if metadata.len() > MAX_FILE_BYTES {
            return Err(NginxError::TooLarge {
                path: host,
                size: metadata.len(),
                max: MAX_FILE_BYTES,
            });
        }
        let text = std::fs::read_to_string(&host).map_err(|source| NginxError::Read {
            path: host.clone(),
            source,
        })?;
        parse_text(&text, path).map(Some)
    }
}

struct Expander<'a> {
    source: &'a dyn IncludeSource,
    conf_prefix: PathBuf,
    files: Vec<PathBuf>,
}

impl Expander<'_> {
    fn expand_file(&mut self, path: &Path, depth: usize) -> Result<Vec<Directive>, NginxError> {
        if self.files.len() >= MAX_FILES {
            return Err(NginxError::TooManyFiles { max: MAX_FILES });
        }
        let Some(directives) = self.source.directives(path)? else {
            return Err(NginxError::Missing {
                path: path.to_path_buf(),
            });
        };
        self.files.push(path.to_path_buf());
        self.expand(directives, depth)
    }

    fn expand(
        &mut self,
        directives: Vec<Directive>,
        depth: usize,
    ) -> Result<Vec<Directive>, NginxError> {
        let mut expanded = Vec::with_capacity(directives.len());
        for mut directive in directives {
            if directive.name == "include" && directive.block.is_none() {
                expanded.extend(self.include(&directive, depth)?);
                continue;
            }
            if let Some(block) = directive.block.take() {
                directive.block = Some(self.expand(block, depth)?);
            }
            expanded.push(directive);
        }
        Ok(expanded)
    }

    fn include(
        &mut self,
        directive: &Directive,
        depth: usize,
    ) -> Result<Vec<Directive>, NginxError> {
        let [pattern] = directive.args.as_slice() else {
            return Err(NginxError::Syntax {
                file: directive.file.clone(),
                line: directive.line,
                detail: "\"include\" takes exactly one argument".to_string(),
            });
        };
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(NginxError::IncludeDepth {
                file: directive.file.clone(),
                line: directive.line,
                max: MAX_INCLUDE_DEPTH,
            });
        }

        let pattern = normalize(&self.conf_prefix.join(pattern));
        let files = if glob::has_wildcard(&pattern.to_string_lossy()) {
            // A pattern that matches nothing is fine for nginx too.
            self.source.matching(&pattern)
        } else {
            vec![pattern]
        };

        let mut directives = Vec::new();
        for file in files {
            directives.extend(self.expand_file(&file, depth + 1)?);
        }
        Ok(directives)
    }
}

/// Removes `.` components and resolves `..` lexically, as nginx does not follow symlinks here.
pub fn normalize(path: &Path) -> PathBuf {
    let mut normalized = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normalized.pop();
            }
            other => normalized.push(other.as_os_str()),
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\
# configuration file /etc/nginx/nginx.conf:
events {}
http {
    include mime.types;
    include /etc/nginx/conf.d/*.conf;
}

# configuration file /etc/nginx/mime.types:
types { text/html html; }

# configuration file /etc/nginx/conf.d/b.conf:
server { server_name b.test; }

# configuration file /etc/nginx/conf.d/a.conf:
server { server_name a.test; }

";

    fn server_names(config: &Config) -> Vec<String> {
        let http = config
            .directives
            .iter()
            .find(|d| d.name == "http")
            .expect("http block");
        http.children()
            .iter()
            .filter(|d| d.name == "server")
            .map(|server| server.children()[0].args[0].clone())
            .collect()
    }

    #[test]
    fn dump_expands_includes_in_glob_order() {
        let config = parse_dump(DUMP).expect("valid dump");

        assert_eq!(config.main_file, Path::new("/etc/nginx/nginx.conf"));
        assert_eq!(server_names(&config), ["a.test", "b.test"]);
        let http = &config.directives[1];
        assert_eq!(http.children()[0].name, "types");
        assert_eq!(
            http.children()[1].file,
            Path::new("/etc/nginx/conf.d/a.conf")
        );
        assert_eq!(http.children()[1].line, 1);
    }

    #[test]
    fn dump_without_headers_is_rejected() {
        let error =
            parse_dump("nginx: the configuration file syntax is ok\n").expect_err("must fail");

        assert!(matches!(error, NginxError::NotADump), "{error:?}");
    }

    #[test]
    fn dump_syntax_error_names_file_and_line() {
        let dump = "# configuration file /etc/nginx/nginx.conf:\nhttp {\n  include x.conf;\n}\n# configuration file /etc/nginx/x.conf:\nserver {\n";

        let error = parse_dump(dump).expect_err("must fail");

        assert!(
            error.to_string().starts_with("/etc/nginx/x.conf:1:"),
            "{error}"
        );
    }

    #[test]
    fn files_follow_relative_includes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("conf");
        std::fs::create_dir_all(conf.join("conf.d")).expect("mkdir");
        std::fs::write(
            conf.join("nginx.conf"),
            "http {\n include conf.d/*.conf;\n}\n",
        )
        .expect("write");
        std::fs::write(
            conf.join("conf.d/b.conf"),
            "server { server_name b.test; }\n",
        )
        .expect("write");
        std::fs::write(
            conf.join("conf.d/a.conf"),
            "server { server_name a.test; }\n",
        )
        .expect("write");

        let config =
            read_files(&conf.join("nginx.conf"), &|path| path.to_path_buf()).expect("readable");

        assert_eq!(server_names(&config), ["a.test", "b.test"]);
        assert_eq!(config.files.len(), 3);
    }

    #[test]
    fn files_map_container_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let host_conf = dir.path().join("host/conf");
        std::fs::create_dir_all(host_conf.join("conf.d")).expect("mkdir");
        std::fs::write(
            host_conf.join("nginx.conf"),
            "http { include /usr/local/openresty/nginx/conf/conf.d/*.conf; }",
        )
        .expect("write");
        std::fs::write(
            host_conf.join("conf.d/a.conf"),
            "server { server_name a.test; }",
        )
        .expect("write");
        let container_conf = Path::new("/usr/local/openresty/nginx/conf");
        let to_host = |path: &Path| match path.strip_prefix(container_conf) {
            Ok(rest) => host_conf.join(rest),
            Err(_) => path.to_path_buf(),
        };

        let config = read_files(&container_conf.join("nginx.conf"), &to_host).expect("readable");

        assert_eq!(server_names(&config), ["a.test"]);
        assert_eq!(
            config.files[1],
            Path::new("/usr/local/openresty/nginx/conf/conf.d/a.conf")
        );
    }

    #[test]
    fn missing_include_is_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("nginx.conf"), "include missing.conf;").expect("write");

        let error = read_files(&dir.path().join("nginx.conf"), &|path| path.to_path_buf())
            .expect_err("must fail");

        assert!(
            matches!(&error, NginxError::Missing { path } if path.ends_with("missing.conf")),
            "{error:?}"
        );
    }

    #[test]
    fn self_include_stops_at_depth_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("nginx.conf"), "include nginx.conf;").expect("write");

        let error = read_files(&dir.path().join("nginx.conf"), &|path| path.to_path_buf())
            .expect_err("must fail");

        assert!(
            matches!(error, NginxError::IncludeDepth { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn normalize_resolves_dot_dot() {
        assert_eq!(
            normalize(Path::new("/etc/nginx/../ssl/./a.pem")),
            Path::new("/etc/ssl/a.pem")
        );
    }
}
