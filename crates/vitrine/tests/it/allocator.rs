//! The binary bounds glibc's malloc arenas by starting itself again with `MALLOC_ARENA_MAX`
//! set (`vitrine::allocator`), in place, and keeps an operator's own value.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The value of `MALLOC_ARENA_MAX` in the environment of the running process `pid`, once it
/// has one (or `None` after five seconds).
fn arena_max_of(pid: u32) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if let Some(value) = environ
            .split(|b| *b == 0)
            .find_map(|entry| entry.strip_prefix(b"MALLOC_ARENA_MAX="))
        {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn demo(arena_max: Option<&str>) -> (std::process::Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_vitrine"));
    command
        .args(["demo", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .env_remove("MALLOC_ARENA_MAX")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(value) = arena_max {
        command.env("MALLOC_ARENA_MAX", value);
    }
    (command.spawn().unwrap(), dir)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_server_runs_with_bounded_malloc_arenas_unless_the_operator_chose() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));

    let (mut child, _dir) = demo(None);
    let seen = arena_max_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        seen,
        Some(cores.to_string()),
        "the same process (same id) runs with the arenas bounded to the cores"
    );

    let (mut child, _dir) = demo(Some("7"));
    std::thread::sleep(Duration::from_millis(300));
    let seen = arena_max_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.as_deref(), Some("7"), "an operator's value is kept");
}
