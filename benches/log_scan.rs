//! Measures how long scanning a log takes and how much memory it needs as the log grows.
//!
//! The log check reads only the tail of each file, so time and peak memory should stay flat from a
//! 1 MiB log to a 2 GiB one. Run with `cargo bench --bench log_scan`; results are recorded in
//! `docs/benchmarks.md`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use certwiz::checks::logs::{MAX_LINES, TAIL_BYTES};
use certwiz::logs::scan_log;

const NOISE: &[u8] = b"[2026-11-30 03:00:01] [INFO] [websocket] client connected from 10.0.0.7:51234, nothing to see\n";
const MATCH: &[u8] = b"2026/11/30 03:00:02 http: TLS handshake error from 10.0.0.9:5555: remote error: tls: bad certificate\n";
const REPEATS: u32 = 20;

/// Writes `size` bytes of noise with a matching line every 64 KiB, sparse at the front so that
/// large sizes cost no disk space: the scan only reads the tail anyway.
fn write_log(path: &std::path::Path, size: u64) -> std::io::Result<()> {
    let file = File::create(path)?;
    let dense = size.min(64 * 1024 * 1024);
    file.set_len(size - dense)?;
    let mut writer = BufWriter::new(file);
    std::io::Seek::seek(&mut writer, std::io::SeekFrom::Start(size - dense))?;
    let mut written = 0u64;
    while written < dense {
        let line = if written % (64 * 1024) < NOISE.len() as u64 { MATCH } else { NOISE };
        writer.write_all(line)?;
        written += line.len() as u64;
    }
    writer.flush()
}

/// Peak resident memory of this process so far, from `/proc/self/status`.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("| log size | median scan time | lines picked | peak RSS after |");
    println!("| --- | --- | --- | --- |");
    for size_mib in [1u64, 64, 512, 2048] {
        let path = dir.path().join(format!("{size_mib}.log"));
        write_log(&path, size_mib * 1024 * 1024).expect("write the log");

        let mut times: Vec<Duration> = Vec::new();
        let mut picked = 0;
        for _ in 0..REPEATS {
            let start = Instant::now();
            let scan = scan_log(&path, TAIL_BYTES, MAX_LINES).expect("scan the log");
            times.push(start.elapsed());
            picked = scan.lines.len();
        }
        times.sort();
        let median = times[times.len() / 2];
        println!("| {size_mib} MiB | {:.2} ms | {picked} | {} MiB |", median.as_secs_f64() * 1000.0, peak_rss_kib() / 1024);
        std::fs::remove_file(&path).expect("remove the log");
    }
}
