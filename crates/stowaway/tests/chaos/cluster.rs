//! The servers a chaos run owns, so it may kill them without touching anyone else's: a private
//! PostgreSQL cluster (initdb, `pg_ctl stop -m immediate`), a private s3s-fs, and `stowaway`
//! parts as separate processes on loopback.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start listening on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process, killed (SIGKILL) when told to or dropped.
#[derive(Default)]
struct Proc(Option<Child>);

impl Proc {
    /// Spawns `cmd` (its output as the caller set it) and waits for it to listen on `port`.
    fn spawn(&mut self, cmd: &mut Command, port: u16, what: &str) {
        self.0 = Some(cmd.spawn().unwrap_or_else(|e| panic!("starting {what}: {e}")));
        wait_for_port(port, what);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A PostgreSQL 15 cluster of this run's own (Debian's binaries), run as `postgres` when we are
/// root (PostgreSQL refuses root).
pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl Postgres {
    pub fn start(dir: &Path) -> Postgres {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let pg = Postgres { dir: dir.to_path_buf(), port: free_port() };
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir), "chown");
        }
        let data = dir.join("data");
        let mut initdb = pg.as_postgres(&format!("{PG_BIN}/initdb"));
        run(initdb.args(["-U", "postgres", "--auth=trust", "-D"]).arg(&data), "initdb");
        pg.up();
        pg
    }

    fn as_postgres(&self, program: &str) -> Command {
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        }
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Starts (again) on the same port and data.
    pub fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        run(
            self.as_postgres(&format!("{PG_BIN}/pg_ctl"))
                .args(["-w", "-t", "60", "-D"])
                .arg(self.dir.join("data"))
                .args(["-l"])
                .arg(self.dir.join("log"))
                .args(["-o", &options, "start"]),
            "pg_ctl start",
        );
    }

    /// Stops at once, as a crash would (no checkpoint; recovery replays the WAL).
    pub fn crash(&self) {
        run(
            self.as_postgres(&format!("{PG_BIN}/pg_ctl")).args(["-D"]).arg(self.dir.join("data")).args([
                "-m",
                "immediate",
                "stop",
            ]),
            "pg_ctl stop -m immediate",
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .args(["-D"])
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// An s3s-fs of this run's own (strict S3), restartable on the same port and data.
pub struct S3 {
    dir: PathBuf,
    pub port: u16,
    process: Proc,
}

pub const S3_KEY: &str = "chaos-access-key";
pub const S3_SECRET: &str = "chaos-secret-key-0123456789abcdef";

impl S3 {
    pub fn start(dir: &Path) -> S3 {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let mut s3 = S3 { dir: dir.to_path_buf(), port: free_port(), process: Proc::default() };
        s3.up();
        s3
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn up(&mut self) {
        let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", env("HOME")));
        let binary = which("s3s-fs").unwrap_or_else(|| format!("{cargo_home}/bin/s3s-fs"));
        let port = self.port.to_string();
        let mut cmd = Command::new(binary);
        cmd.args(["--host", "127.0.0.1", "--port", &port, "--access-key", S3_KEY, "--secret-key", S3_SECRET])
            .args(["--domain", &format!("localhost:{port}")])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.process.spawn(&mut cmd, self.port, "s3s-fs (scripts/install-services.sh installs it)");
    }

    /// SIGKILL: the store is gone until `up`.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn which(program: &str) -> Option<String> {
    let out = Command::new("sh").args(["-c", &format!("command -v {program}")]).output().ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!path.is_empty()).then_some(path)
}

/// A `stowaway <part>` process; `port` is its listener (the API's, or the ops listener).
pub struct Part {
    pub name: String,
    part: String,
    env: Vec<(String, String)>,
    pub port: u16,
    process: Proc,
    log: PathBuf,
    /// Times it was started.
    pub starts: u32,
}

impl Part {
    pub fn new(name: &str, part: &str, env: Vec<(String, String)>, logs: &Path) -> Part {
        let port = free_port();
        let mut env = env;
        let listen = if part == "api" || part == "serve" { "STOWAWAY_LISTEN" } else { "STOWAWAY_OPS_LISTEN" };
        env.push((listen.into(), format!("127.0.0.1:{port}")));
        let log = logs.join(format!("{name}.log"));
        Part { name: name.into(), part: part.into(), env, port, process: Proc::default(), log, starts: 0 }
    }

    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stowaway"));
        cmd.arg(&self.part)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        self.starts += 1;
        self.process.spawn(&mut cmd, self.port, &self.name);
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGTERM; how long it took to exit (None: not within `within`, then killed).
    pub fn terminate(&mut self, within: Duration) -> Option<Duration> {
        let mut c = self.process.0.take()?;
        let started = Instant::now();
        run(Command::new("kill").args(["-TERM", &c.id().to_string()]), "kill -TERM");
        while started.elapsed() < within {
            if c.try_wait().unwrap().is_some() {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// Whether it exited without being told to (a crash).
    pub fn crashed(&mut self) -> Option<std::process::ExitStatus> {
        self.process.0.as_mut().and_then(|c| c.try_wait().unwrap())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A Kafka-wire broker of this run's own (tansu) that keeps its log in a bucket of the S3 test
/// server (not the run's own s3s-fs, whose outages are a different fault), so messages it
/// acknowledged survive its kill.
pub struct Kafka {
    pub port: u16,
    bucket: String,
    process: Proc,
}

impl Kafka {
    pub fn start(bucket: &str) -> Kafka {
        let mut k = Kafka { port: free_port(), bucket: bucket.into(), process: Proc::default() };
        k.up();
        k
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn up(&mut self) {
        let s3 = stowaway_testkit::s3_config(stowaway_testkit::S3Server::Strict);
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let mut cmd = Command::new(stowaway_testkit::tansu_binary());
        cmd.args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", &format!("s3://{}/", self.bucket)])
            .env("AWS_ENDPOINT", s3.endpoint.unwrap())
            .env("AWS_ACCESS_KEY_ID", s3.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", s3.secret_access_key)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.process.spawn(&mut cmd, self.port, "tansu (scripts/install-services.sh installs it)");
    }

    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// The key of every message this broker stored on `topic` (`kafka_log.rs`).
    pub async fn stored_keys(&self, topic: &str) -> Result<Vec<String>, String> {
        let objects =
            stowaway_objects::Objects::new(&stowaway_testkit::s3_config(stowaway_testkit::S3Server::Strict));
        crate::kafka_log::stored_keys(&objects, &self.bucket, topic).await
    }
}
