//! The docker-compose deployment (`docker-compose.yml`, `.env.example`, `deploy/Dockerfile`,
//! `.dockerignore`, README "Deploy with docker-compose"), checked without Docker by
//! `tests/deploy/check_deploy.py` against this binary's `--help`; and the checker itself, shown
//! to catch each kind of mistake in a deliberately broken copy.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `python3 tests/deploy/check_deploy.py --root <root> [--stowaway <this binary>]` (PyYAML comes
/// with tests/services/requirements.txt; `PYTHON` picks another interpreter, as in scripts/).
fn check(root: &Path, with_binary: bool) -> Output {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(&python);
    cmd.arg(repo().join("tests/deploy/check_deploy.py")).arg("--root").arg(root);
    if with_binary {
        cmd.arg("--stowaway").arg(env!("CARGO_BIN_EXE_stowaway"));
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("running {python} (needs python3 with PyYAML): {e}"));
    assert_ne!(
        out.status.code(),
        Some(2),
        "check_deploy.py could not run:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_deployment_files_are_consistent_with_the_binary() {
    let out = check(&repo(), true);
    assert!(out.status.success(), "check_deploy.py found problems in the deployment files:\n{}", text(&out));
}

/// One deliberate mistake: in `file`, the first `from` becomes `to`; the checker must fail and
/// say `expect`.
struct Breakage {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    expect: &'static str,
    with_binary: bool,
}

const fn breaks(file: &'static str, from: &'static str, to: &'static str, expect: &'static str) -> Breakage {
    Breakage { file, from, to, expect, with_binary: false }
}

const COMPOSE: &str = "docker-compose.yml";
const ENV: &str = ".env.example";
const DOCKERFILE: &str = "deploy/Dockerfile";

const BREAKAGES: &[Breakage] = &[
    // The compose file parses, as docker compose reads it.
    breaks(COMPOSE, "services:\n", "services:\n  broken: [\n", "docker-compose.yml: does not parse"),
    breaks(
        COMPOSE,
        "    image: postgres:15\n",
        "    image: postgres:15\n    image: postgres:16\n",
        "found duplicate key 'image'",
    ),
    // Restart policies and health checks.
    breaks(
        COMPOSE,
        "    image: postgres:15\n    restart: unless-stopped\n",
        "    image: postgres:15\n",
        "service 'postgres': has no restart policy",
    ),
    breaks(
        COMPOSE,
        "    command: [\"migrate\"]\n    restart: \"no\"\n",
        "    command: [\"migrate\"]\n    restart: no\n",
        "service 'migrate': has restart: no unquoted",
    ),
    breaks(
        COMPOSE,
        "    restart: \"no\"\n    depends_on:\n      minio:\n",
        "    restart: unless-stopped\n    depends_on:\n      minio:\n",
        "service 'mc': is one-shot but has restart: unless-stopped",
    ),
    breaks(
        COMPOSE,
        "      test: [\"CMD\", \"/opt/kafka/bin/kafka-topics.sh\", \"--bootstrap-server\", \"localhost:9092\", \"--list\"]\n",
        "",
        "service 'kafka': is long-running but has no health check",
    ),
    // depends_on and volumes.
    breaks(
        COMPOSE,
        "      kafka:\n        condition: service_healthy\n",
        "      kafak:\n        condition: service_healthy\n",
        "service 'notifier': depends on 'kafak', which is not a service",
    ),
    breaks(
        COMPOSE,
        "    depends_on:\n      migrate:\n",
        "    depends_on:\n      echo:\n        condition: service_started\n      migrate:\n",
        "service 'workflow': depends on 'echo', which runs only under a profile",
    ),
    breaks(COMPOSE, "volumes:\n  pgdata:\n", "volumes:\n", "uses the volume 'pgdata', which is not declared"),
    // Ports, listen addresses and health checks of Stowaway's services.
    breaks(
        COMPOSE,
        "\"${STOWAWAY_HTTP_PORT:-8080}:8080\"",
        "\"${STOWAWAY_HTTP_PORT:-8080}:8081\"",
        "service 'api': publishes container port 8081, but listens on 0.0.0.0:8080",
    ),
    breaks(
        COMPOSE,
        "\"http://127.0.0.1:9090/readyz\"",
        "\"http://127.0.0.1:9091/readyz\"",
        "service 'worker': health check probes port 9091",
    ),
    breaks(
        COMPOSE,
        "[\"CMD\", \"stowaway\", \"probe\", \"http://127.0.0.1:8080/readyz\"]",
        "[\"CMD\", \"curl\", \"-f\", \"http://127.0.0.1:8080/readyz\"]",
        "(no curl or wget)",
    ),
    breaks(
        COMPOSE,
        "      STOWAWAY_OPS_LISTEN: 0.0.0.0:9090\n",
        "      STOWAWAY_OPS_LISTEN: 127.0.0.1:9090\n",
        "service 'worker': STOWAWAY_OPS_LISTEN=127.0.0.1:9090 listens on loopback",
    ),
    breaks(
        COMPOSE,
        "    command: [\"api\"]\n    restart: unless-stopped\n    stop_grace_period: 30s\n",
        "    command: [\"api\"]\n    restart: unless-stopped\n    stop_grace_period: 15s\n",
        "service 'api': stop_grace_period is 15 s, not more than its 20 s shutdown grace",
    ),
    // Commands and environment of Stowaway's services.
    breaks(
        COMPOSE,
        "    command: [\"worker\"]\n",
        "    command: [\"wroker\"]\n",
        "service 'worker': runs `stowaway wroker`, which is not a subcommand",
    ),
    Breakage {
        with_binary: true,
        ..breaks(
            COMPOSE,
            "      STOWAWAY_LISTEN: 0.0.0.0:8080\n",
            "      STOWAWAY_LISTEN: 0.0.0.0:8080\n      STOWAWAY_LISTN: 0.0.0.0:8081\n",
            "service 'api': sets STOWAWAY_LISTN, which the binary does not document",
        )
    },
    breaks(
        COMPOSE,
        "      STOWAWAY_WORKER_CONCURRENCY: ${STOWAWAY_WORKER_CONCURRENCY:-8}\n",
        "      STOWAWAY_WORKER_CONCURRENCY: ${STOWAWAY_WORKER_CONCURRENCY:-8}\n      STOWAWAY_REQUIRE_ACTIVATION: \"true\"\n",
        "service 'worker': sets STOWAWAY_REQUIRE_ACTIVATION, which README \"Configuration\" documents for `api`, `serve` but not for `worker`",
    ),
    Breakage { with_binary: true, ..breaks(ENV, "STOWAWAY_LOG_FORMAT=json\n", "STOWAWAY_LOG_FORMAT=yaml\n", "sets STOWAWAY_LOG_FORMAT=yaml, but `stowaway api` accepts only text, json") },
    breaks(
        COMPOSE,
        "      STOWAWAY_SECRET_KEY: ${STOWAWAY_SECRET_KEY:?set STOWAWAY_SECRET_KEY in .env}\n",
        "",
        "service 'api': listens on 0.0.0.0:8080 without STOWAWAY_SECRET_ID/STOWAWAY_SECRET_KEY",
    ),
    // Interpolation against .env.example, both ways.
    breaks(
        ENV,
        "POSTGRES_PASSWORD=change-me-postgres-password\n",
        "",
        "interpolates ${POSTGRES_PASSWORD}, which .env.example does not list",
    ),
    breaks(ENV, "RUST_LOG=info\n", "RUST_LOG=info\nUNUSED_SETTING=1\n", "lists UNUSED_SETTING, which docker-compose.yml never uses"),
    // The Dockerfile.
    breaks(DOCKERFILE, "USER 10001:10001\n", "USER root\n", "runs as USER root; use a non-root user"),
    breaks(DOCKERFILE, "USER 10001:10001\n", "", "has no USER: the image would run as root"),
    breaks(
        DOCKERFILE,
        "--no-install-recommends ca-certificates",
        "--no-install-recommends tzdata",
        "does not install ca-certificates",
    ),
    breaks(
        DOCKERFILE,
        "COPY --from=build /out/stowaway /usr/local/bin/stowaway\n",
        "COPY --from=build /out/stowaway /usr/local/bin/stowaway\nCOPY --from=build /src/target /opt/target\n",
        "copies /src/target into the runtime image; copy only the stowaway binary",
    ),
    breaks(
        DOCKERFILE,
        "COPY --from=skeleton /src ./\n",
        "COPY --from=skeleton /src ./\nCOPY crates crates\n",
        "copies the sources before `cargo fetch`",
    ),
    breaks(
        DOCKERFILE,
        "ARG CARGO_PROFILE=release\n",
        "ARG CARGO_PROFILE=release\nARG SECRET_KNOB=1\n",
        "does not document the Dockerfile's build argument SECRET_KNOB",
    ),
    breaks(
        COMPOSE,
        "      CARGO_BUILD_JOBS: ${CARGO_BUILD_JOBS:-default}\n",
        "      CARGO_BUILD_JOBS: ${CARGO_BUILD_JOBS:-default}\n      RUSTFLAGS: -Ctarget-cpu=native\n",
        "passes the build argument RUSTFLAGS, which deploy/Dockerfile does not declare",
    ),
    // MinIO's bucket events reach the API, authenticated and queued, for a bucket with a workflow.
    breaks(
        COMPOSE,
        "http://api:8080/events/s3",
        "http://api:8080/minio/events",
        "Stowaway takes bucket events at /events/s3",
    ),
    breaks(COMPOSE, "http://api:8080/events/s3", "http://api:9000/events/s3", "posts to port 9000"),
    breaks(
        COMPOSE,
        "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_stowaway: ${STOWAWAY_EVENTS_TOKEN",
        "MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_stowaway: x${STOWAWAY_EVENTS_TOKEN",
        "sends an auth token other than 'api''s STOWAWAY_EVENTS_TOKEN",
    ),
    breaks(COMPOSE, "      MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_stowaway: /events\n", "", "has no queue_dir"),
    breaks(COMPOSE, "      - minio-events:/events\n", "", "queues events in /events, which is on no volume"),
    breaks(COMPOSE, "      - arn:minio:sqs::stowaway:webhook\n", "      - arn:minio:sqs::ci:webhook\n", "has no `mc event add"),
    breaks(
        COMPOSE,
        "    command: [\"workflow\", ",
        "    command: [\"probe\", \"http://api:8080/healthz\", ",
        "no `stowaway workflow` one-shot gives that bucket a workflow",
    ),
    breaks(".dockerignore", "\n.env\n", "\n", ".dockerignore: does not exclude .env"),
    breaks("README.md", "\n## Deploy with docker-compose\n", "\n## Deploying\n", "has no '## Deploy with docker-compose' section"),
];

/// A scratch copy of the deployment files, removed on drop; the rest of the repository (what the
/// Dockerfile copies) is linked in.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A copy of the deployment files with `breakage` applied (none: as they are).
fn broken_copy(index: usize, breakage: Option<&Breakage>) -> Scratch {
    let repo = repo();
    let dir = std::env::temp_dir().join(format!("stowaway-deploy-{}-{index}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scratch = Scratch(dir.clone());
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    for file in [COMPOSE, ENV, DOCKERFILE, ".dockerignore", "README.md"] {
        std::fs::copy(repo.join(file), dir.join(file)).unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    for linked in ["Cargo.toml", "Cargo.lock", "crates", "migrations"] {
        std::os::unix::fs::symlink(repo.join(linked), dir.join(linked)).unwrap();
    }
    if let Some(breakage) = breakage {
        let path = dir.join(breakage.file);
        let original = std::fs::read_to_string(&path).unwrap();
        assert!(
            original.contains(breakage.from),
            "{}: no longer contains {:?}; update this breakage (expecting {:?})",
            breakage.file,
            breakage.from,
            breakage.expect
        );
        std::fs::write(&path, original.replacen(breakage.from, breakage.to, 1)).unwrap();
    }
    scratch
}

#[test]
fn the_checker_catches_broken_copies() {
    // The copy as it is passes, so each failure below is the breakage's.
    let scratch = broken_copy(BREAKAGES.len(), None);
    let out = check(&scratch.0, true);
    assert!(out.status.success(), "the unbroken copy fails:\n{}", text(&out));
    drop(scratch);

    let mut missed = Vec::new();
    for (index, breakage) in BREAKAGES.iter().enumerate() {
        let scratch = broken_copy(index, Some(breakage));
        let out = check(&scratch.0, breakage.with_binary);
        let said = text(&out);
        if out.status.code() != Some(1) || !said.contains(breakage.expect) {
            missed.push(format!(
                "{} with {:?} -> {:?}: expected exit 1 saying {:?}, got {:?}:\n{said}",
                breakage.file,
                breakage.from,
                breakage.to,
                breakage.expect,
                out.status.code()
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "check_deploy.py missed {} breakage(s):\n\n{}",
        missed.len(),
        missed.join("\n\n")
    );
}
