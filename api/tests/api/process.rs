//! The `fengqiao` binary as an operator runs it: production refusal, layered configuration,
//! bootstrapping an administrator, migrations, graceful shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{spawn_app, test_settings};

/// The binary with no `FENGQIAO_*` variables inherited (the tests set what they mean).
pub(crate) fn fengqiao() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fengqiao"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FENGQIAO_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("FENGQIAO_LOG__FILTER", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run fengqiao")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn production_refuses_unsafe_settings_and_names_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(fengqiao()
        .current_dir(dir.path())
        .env("FENGQIAO_ENV", "production")
        .env("FENGQIAO_AUTH__DEV_LOGIN", "true")
        .arg("serve"));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for setting in ["auth.jwt_secret", "crypto.key", "auth.dev_login"] {
        assert!(stderr.contains(setting), "names {setting}: {stderr}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "refused before touching anything"
    );

    let out = run(fengqiao()
        .current_dir(dir.path())
        .env("FENGQIAO_ENV", "production")
        .env("FENGQIAO_AUTH__JWT_SECRET", "too-short")
        .env(
            "FENGQIAO_CRYPTO__KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .arg("serve"));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("auth.jwt_secret is shorter"), "{stderr}");
    assert!(
        !stderr.contains("crypto.key"),
        "a set key is not reported: {stderr}"
    );
}

#[test]
fn configuration_layers_defaults_file_and_environment_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fengqiao.toml"),
        "[server]\nhost = \"0.0.0.0\"\nport = 9999\n\n[log]\nformat = \"json\"\n",
    )
    .unwrap();
    let out = run(fengqiao()
        .current_dir(dir.path())
        .env("FENGQIAO_SERVER__PORT", "7777")
        .env(
            "FENGQIAO_AUTH__JWT_SECRET",
            "a-very-private-signing-key-0123456789",
        )
        .env(
            "FENGQIAO_DATABASE__URL",
            "postgres://app:hunter2@db.internal/fengqiao",
        )
        .arg("check-config"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("host = \"0.0.0.0\""), "file layer: {shown}");
    assert!(
        shown.contains("port = 7777"),
        "environment beats the file: {shown}"
    );
    assert!(shown.contains("format = \"json\""));
    assert!(
        shown.contains("body_limit_bytes = 1048576"),
        "defaults fill the rest"
    );
    assert!(
        !shown.contains("a-very-private") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("[redacted]"));

    let out =
        run(fengqiao()
            .current_dir(dir.path())
            .args(["--config", "missing.toml", "check-config"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.toml"));

    std::fs::write(dir.path().join("typo.toml"), "[server]\nprot = 1\n").unwrap();
    let out =
        run(fengqiao()
            .current_dir(dir.path())
            .args(["--config", "typo.toml", "check-config"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("prot"),
        "an unknown key is named: {}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn the_first_administrator_is_bootstrapped_from_the_command_line() {
    let app = spawn_app().await;
    let mut child = fengqiao()
        .env("FENGQIAO_DATA_DIR", app.data_path())
        .env("FENGQIAO_DATABASE__URL", app.settings.database_url())
        .args([
            "admin",
            "create-user",
            "--username",
            "chief",
            "--county-name",
            "中牟县",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Bureau-head-2026x\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stdout).contains("Bureau-head-2026x"),
        "a given password is not echoed"
    );

    let res = app.login("chief", "Bureau-head-2026x").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["staff"]["roles"][0], "administrator");

    // A weak password is refused with the policy's reason.
    let mut child = fengqiao()
        .env("FENGQIAO_DATABASE__URL", app.settings.database_url())
        .args([
            "admin",
            "create-user",
            "--username",
            "weak",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("12 characters"));
}

#[tokio::test]
async fn migrate_status_lists_every_migration() {
    let app = spawn_app().await;
    let out = run(fengqiao()
        .env("FENGQIAO_DATABASE__URL", app.settings.database_url())
        .args(["migrate", "status"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("applied m20261125_000001_organisations_and_staff"),
        "{listed}"
    );
    assert!(!listed.contains("pending"));
}

#[test]
fn the_openapi_command_prints_the_committed_document() {
    let out = run(fengqiao().arg("openapi"));
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["openapi"], "3.1.0");
}

/// Starts `fengqiao serve` on a free port and returns it with its port and the rest of its
/// standard output (the log, in the default configuration).
pub(crate) fn start_server(
    data_dir: &std::path::Path,
    database_url: &str,
    extra_env: &[(&str, &str)],
) -> (Child, u16, std::sync::mpsc::Receiver<String>) {
    let mut cmd = fengqiao();
    cmd.envs(extra_env.iter().copied());
    let mut child = cmd
        .env("FENGQIAO_DATA_DIR", data_dir)
        .env("FENGQIAO_DATABASE__URL", database_url)
        .env("FENGQIAO_SERVER__PORT", "0")
        .env("FENGQIAO_SERVER__WORKERS", "1")
        .env("FENGQIAO_SERVER__SHUTDOWN_TIMEOUT_SECS", "10")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        if let Some(rest) = line.trim().strip_prefix("API:") {
            let port = rest.trim().trim_start_matches("http://127.0.0.1:");
            break port.split('/').next().unwrap().parse::<u16>().unwrap();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, port, rx)
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("the server did not stop within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits_zero() {
    let (settings, dir, _db, _redis) = test_settings().await;
    let (mut child, port, _log) = start_server(dir.path(), &settings.database_url(), &[]);

    // Half a request: headers and the start of the body.
    let body = br#"{"username": "nobody", "password": "Nobody-password-1"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/v1/admin/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still running while a request is in flight"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "no new connections once stopping"
    );

    stream.write_all(&body[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 401"),
        "the in-flight request is answered: {response}"
    );

    let status = wait_for_exit(&mut child, Duration::from_secs(15));
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line_of_the_request() {
    let (settings, dir, _db, _redis) = test_settings().await;
    let (mut child, port, log) = start_server(
        dir.path(),
        &settings.database_url(),
        &[
            ("FENGQIAO_LOG__FORMAT", "json"),
            ("FENGQIAO_LOG__FILTER", "info"),
        ],
    );
    let res = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/admin/auth/login"))
        .header("x-request-id", "log-trace-42")
        .json(&serde_json::json!({"username": "nobody", "password": "Nobody-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(wait_for_exit(&mut child, Duration::from_secs(15)).success());

    let lines: Vec<Value> = log
        .try_iter()
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .collect();
    let finished = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "request finished"
                && l["span"]["path"] == "/api/v1/admin/auth/login"
        })
        .unwrap_or_else(|| panic!("a JSON line for the request: {lines:?}"));
    assert_eq!(finished["span"]["request_id"], "log-trace-42");
    assert_eq!(finished["fields"]["status"], 401);
    assert!(
        !lines
            .iter()
            .any(|l| l.to_string().contains("Nobody-password-1")),
        "a password never reaches the log"
    );
}
