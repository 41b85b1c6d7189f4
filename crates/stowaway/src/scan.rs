//! `stowaway scan`: inspect files, directories and standard input, in parallel over all cores.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use stowaway_detect::{inspect, Report};

use crate::output::{Format, Writer};

#[derive(clap::Args)]
pub struct ScanArgs {
    /// Files or directories (searched recursively); `-` is standard input.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output: a table for people, JSON Lines, or Tencent's ProcessResult XML.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Worker threads (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Never draw the progress line, even on a terminal.
    #[arg(long)]
    no_progress: bool,
}

/// Objects at least this large are memory-mapped rather than read, so memory stays bounded.
const MAP_THRESHOLD: u64 = 1 << 20;

/// Expands directories (depth first, sorted, not following directory symlinks).
fn collect(path: &Path, out: &mut Vec<Result<PathBuf, (PathBuf, io::Error)>>) {
    if path == Path::new("-") {
        out.push(Ok(path.to_path_buf()));
        return;
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut children: Vec<_> = entries.filter_map(|e| e.ok()).collect();
                children.sort_by_key(|e| e.file_name());
                for e in children {
                    let is_link_dir = e.file_type().is_ok_and(|t| t.is_symlink()) && e.path().is_dir();
                    if !is_link_dir {
                        collect(&e.path(), out);
                    }
                }
            }
            Err(e) => out.push(Err((path.to_path_buf(), e))),
        },
        Ok(_) => out.push(Ok(path.to_path_buf())),
        Err(e) => out.push(Err((path.to_path_buf(), e))),
    }
}

/// Reads or maps one object and inspects it.
fn inspect_path(path: &Path) -> io::Result<Report> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        io::stdin().lock().read_to_end(&mut buf)?;
        return Ok(inspect(&buf));
    }
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    if len >= MAP_THRESHOLD {
        // SAFETY: the map is read-only and lives only for this call; a file truncated meanwhile by
        // another process is the documented risk of scanning files that are being written.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        return Ok(inspect(&map));
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.read_to_end(&mut buf)?;
    Ok(inspect(&buf))
}

struct Progress {
    enabled: bool,
    last: Instant,
    started: Instant,
}

impl Progress {
    fn tick(&mut self, done: usize, total: usize, bytes: u64, suspicious: usize) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r\x1b[2K{done}/{total} files  {:.1} MB  {:.0} MB/s  {suspicious} suspicious",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
    }
    fn clear(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

pub fn run(args: ScanArgs) -> ExitCode {
    let mut items = Vec::new();
    for p in &args.paths {
        collect(p, &mut items);
    }
    let total = items.len();
    let threads =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, String, io::Result<Report>)>();
    let stdout = io::stdout();
    let mut writer = Writer::new(io::BufWriter::new(stdout.lock()), args.format);
    let mut progress = Progress {
        enabled: !args.no_progress && io::stderr().is_terminal() && total > 1,
        last: Instant::now(),
        started: Instant::now(),
    };
    let (mut suspicious, mut errors, mut bytes) = (0usize, 0usize, 0u64);
    let write_result = std::thread::scope(|s| -> io::Result<()> {
        for _ in 0..threads.min(total.max(1)) {
            let tx = tx.clone();
            let (items, next) = (&items, &next);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let msg = match item {
                    Ok(p) => (i, p.display().to_string(), inspect_path(p)),
                    Err((p, e)) => (i, p.display().to_string(), Err(io::Error::new(e.kind(), e.to_string()))),
                };
                if tx.send(msg).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Print in input order so output is deterministic whatever the thread timing.
        let mut pending = BTreeMap::new();
        let mut printed = 0;
        for (i, path, result) in rx {
            pending.insert(i, (path, result));
            while let Some((path, result)) = pending.remove(&printed) {
                match result {
                    Ok(r) => {
                        bytes += r.pic_size;
                        suspicious += usize::from(r.suspicious());
                        writer.report(&path, &r)?;
                    }
                    Err(e) => {
                        errors += 1;
                        // On a terminal the table's row says it; piped away, stderr tells the person.
                        if args.format == Format::Table && !io::stdout().is_terminal() {
                            eprintln!("stowaway: {path}: {e}");
                        }
                        writer.error(&path, &e.to_string())?;
                    }
                }
                printed += 1;
                progress.tick(printed, total, bytes, suspicious);
            }
        }
        Ok(())
    });
    progress.clear();
    let finished = write_result.and_then(|()| writer.finish());
    if let Err(e) = finished {
        if e.kind() != io::ErrorKind::BrokenPipe {
            let _ = writeln!(io::stderr(), "stowaway: writing output: {e}");
        }
        return ExitCode::from(2);
    }
    match (errors, suspicious) {
        (0, 0) => ExitCode::SUCCESS,
        (0, _) => ExitCode::from(1),
        _ => ExitCode::from(2),
    }
}
