//! Starting `stowaway api` with a bad configuration fails fast with one clear line and exit code 2,
//! never a panic: no key on a public address (only loopback, or `STOWAWAY_AUTH=off`, may run
//! unauthenticated), an unreachable or malformed database URL, missing S3 credentials, a bad
//! setting.
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `stowaway api`: the part that listens (`serve` would also migrate the database it is given).
fn serve(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stowaway"));
    cmd.arg("api")
        .env_remove("STOWAWAY_SECRET_ID")
        .env_remove("STOWAWAY_SECRET_KEY")
        .env_remove("STOWAWAY_KEYS_FILE")
        .env_remove("STOWAWAY_AUTH")
        .env("STOWAWAY_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn refused(env: &[(&str, &str)]) -> String {
    let out = serve(env).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn no_key_on_a_public_address_is_refused() {
    let err = refused(&[("STOWAWAY_LISTEN", "0.0.0.0:0")]);
    assert!(err.contains("refusing to serve 0.0.0.0:0 without authentication"), "{err}");
    assert!(err.contains("STOWAWAY_AUTH=off"), "{err}");
    let err = refused(&[("STOWAWAY_LISTEN", "0.0.0.0:0"), ("STOWAWAY_SECRET_ID", "AKIDonly")]);
    assert!(err.contains("set both or neither"), "{err}");
    let err = refused(&[("STOWAWAY_KEYS_FILE", "/nonexistent/keys.json")]);
    assert!(err.contains("STOWAWAY_KEYS_FILE /nonexistent/keys.json"), "{err}");
    let err = refused(&[("STOWAWAY_AUTH", "maybe")]);
    assert!(err.contains("STOWAWAY_AUTH must be on or off"), "{err}");
}

/// Waits until `port` answers, or the process ends.
fn listens(cmd: &mut Command, port: u16) -> bool {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let up = loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break true;
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    up
}

#[test]
fn explicit_off_or_a_key_lets_it_serve_any_address() {
    let free = || TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let port = free();
    let listen = format!("0.0.0.0:{port}");
    assert!(listens(&mut serve(&[("STOWAWAY_LISTEN", &listen), ("STOWAWAY_AUTH", "off")]), port));
    let port = free();
    let listen = format!("0.0.0.0:{port}");
    let keyed =
        [("STOWAWAY_LISTEN", listen.as_str()), ("STOWAWAY_SECRET_ID", "AKIDa"), ("STOWAWAY_SECRET_KEY", "k")];
    assert!(listens(&mut serve(&keyed), port));
}

#[test]
fn bad_configuration_is_one_line_and_exit_code_2() {
    let keyed = [("STOWAWAY_SECRET_ID", "AKIDa"), ("STOWAWAY_SECRET_KEY", "k")];
    /// Variables set, variables removed, what the one line says.
    type Case<'a> = (Vec<(&'static str, &'a str)>, Vec<&'static str>, &'static str);
    let cases: Vec<Case> = vec![
        (
            vec![("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")],
            vec![],
            "connecting to the database",
        ),
        (vec![("DATABASE_URL", "not a url")], vec![], "connecting to the database"),
        (vec![], vec!["AWS_ACCESS_KEY_ID"], "AWS_ACCESS_KEY_ID is not set"),
        (
            vec![("STOWAWAY_S3_PATH_STYLE", "sometimes")],
            vec![],
            "STOWAWAY_S3_PATH_STYLE must be true or false",
        ),
        (vec![("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "10.0.0.0/99")], vec![], "STOWAWAY_CALLBACK_ALLOW_PRIVATE"),
        (
            vec![("STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE", "sure")],
            vec![],
            "STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE must be possible, likely or certain, not \"sure\"",
        ),
    ];
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let mut cases = cases;
    cases.push((vec![("STOWAWAY_LISTEN", taken.as_str())], vec![], "(STOWAWAY_LISTEN)"));
    for (set, unset, message) in cases {
        let mut cmd = serve(&keyed);
        for (k, v) in &set {
            cmd.env(k, v);
        }
        for k in &unset {
            cmd.env_remove(k);
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{set:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{set:?}: one line, not:\n{err}");
        assert!(lines[0].starts_with("stowaway: ") && lines[0].contains(message), "{set:?}: {err}");
    }
}
