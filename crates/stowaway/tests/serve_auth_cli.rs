//! `stowaway serve` and `api` refuse to run unauthenticated where strangers can reach it: with no key it
//! starts only on loopback, or anywhere when `STOWAWAY_AUTH=off` says so. Checked before any
//! service is contacted, so each refusal is one clear line.
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
