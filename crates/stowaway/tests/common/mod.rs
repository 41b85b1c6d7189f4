//! Running `stowaway` parts as processes against the real PostgreSQL and S3 test servers.
#![allow(dead_code)] // each test file uses its own share

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use stowaway_testkit::{s3_config, S3Server};

/// A scratch database for one test, dropped at the end.
pub struct Database {
    pub url: String,
    pub name: String,
    admin: PgConnectOptions,
}

impl Database {
    pub async fn create() -> Database {
        let server = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test.sh sets it)");
        let admin = PgConnectOptions::from_str(&server).unwrap();
        let name = format!("stowaway_service_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut conn = admin.connect().await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Database { url, name, admin }
    }

    pub async fn drop_it(self) {
        let mut conn = self.admin.connect().await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name)).execute(&mut conn).await;
    }
}

/// A running `stowaway <part>` process, killed when dropped.
pub struct Process {
    pub child: Child,
    pub port: u16,
}

impl Process {
    /// `stowaway <part>` on the strict S3 server (s3s-fs).
    pub fn start(part: &str, db: &Database, bucket: &str, extra: &[(&str, &str)]) -> Process {
        Process::start_on(S3Server::Strict, part, db, bucket, extra)
    }

    /// `stowaway <part>` on the S3 test server `server`, with `bucket` as its default bucket.
    pub fn start_on(
        server: S3Server,
        part: &str,
        db: &Database,
        bucket: &str,
        extra: &[(&str, &str)],
    ) -> Process {
        Process::spawn(server, part, db, bucket, extra, Stdio::inherit())
    }

    /// `stowaway <part>` on s3s-fs with its log (stderr) written to `log`.
    pub fn start_logged(
        part: &str,
        db: &Database,
        bucket: &str,
        extra: &[(&str, &str)],
        log: &Path,
    ) -> Process {
        let file = std::fs::File::create(log).unwrap();
        Process::spawn(S3Server::Strict, part, db, bucket, extra, Stdio::from(file))
    }

    fn spawn(
        server: S3Server,
        part: &str,
        db: &Database,
        bucket: &str,
        extra: &[(&str, &str)],
        stderr: Stdio,
    ) -> Process {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let s3 = s3_config(server);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stowaway"));
        cmd.arg(part)
            .env("DATABASE_URL", &db.url)
            .env("STOWAWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("STOWAWAY_S3_ENDPOINT", s3.endpoint.unwrap())
            .env("AWS_ACCESS_KEY_ID", s3.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", s3.secret_access_key)
            .env("STOWAWAY_DEFAULT_BUCKET", bucket)
            .env("STOWAWAY_DEFAULT_REGION", "ap-chongqing")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let p = Process { child, port };
        if part == "serve" || part == "api" {
            let deadline = Instant::now() + Duration::from_secs(20);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "stowaway {part} did not start listening");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        p
    }

    /// SIGTERM, as `docker stop` sends it; returns how the process ended.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL: no graceful hand-back
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request, `Connection: close`; returns (status, body).
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let r = try_request(port, method, path, &[], body).expect("the server answers");
    (r.status, r.body)
}

pub struct Answer {
    pub status: u16,
    /// The response head (status line and headers) as received.
    pub head: String,
    pub body: String,
}

impl Answer {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One HTTP/1.1 request with extra headers; `None` when the server cannot be reached or hangs up
/// without answering (e.g. it is shutting down).
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    write!(s, "{head}\r\n{body}").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.get(9..12)?.parse().ok()?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    Some(Answer { status, head: head.to_string(), body: body.to_string() })
}

/// The output of `program args…` (stdout then stderr), asserting that it exited 0 and printed
/// `<tag>: all calls worked`.
pub fn run_script(program: &str, args: &[&str], tag: &str) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("running {program}: {e} (scripts/test.sh installs what the SDK tests need)")
    });
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    assert!(text.contains(&format!("{tag}: all calls worked")), "{text}");
    text
}
