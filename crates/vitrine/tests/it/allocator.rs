//! The binary configures glibc's malloc by starting itself again with `MALLOC_ARENA_MAX` and
//! `MALLOC_MMAP_THRESHOLD_` set (`vitrine::allocator`), in place, and keeps an operator's own
//! values.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vitrine::allocator::{ARENA_MAX, MMAP_THRESHOLD};

/// The environment of the running process `pid` once it has `name` (or what it has after five
/// seconds).
fn environment_of(pid: u32, name: &str) -> Vec<(String, String)> {
    let started = Instant::now();
    loop {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let pairs: Vec<(String, String)> = environ
            .split(|b| *b == 0)
            .filter_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                let (key, value) = entry.split_once('=')?;
                Some((key.to_owned(), value.to_owned()))
            })
            .collect();
        if pairs.iter().any(|(key, _)| key == name) || started.elapsed() > Duration::from_secs(5) {
            return pairs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn value(environment: &[(String, String)], name: &str) -> Option<String> {
    environment
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// `vitrine demo` with these of the variables set by the "operator" (the others removed), and
/// its environment once it has configured malloc.
fn demo_environment(operator: &[(&str, &str)]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_vitrine"));
    command
        .args(["demo", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .env_remove(ARENA_MAX)
        .env_remove(MMAP_THRESHOLD)
        .envs(operator.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let missing = [ARENA_MAX, MMAP_THRESHOLD]
        .into_iter()
        .find(|name| !operator.iter().any(|(set, _)| set == name));
    let environment = match missing {
        Some(name) => environment_of(child.id(), name),
        None => {
            std::thread::sleep(Duration::from_millis(300));
            environment_of(child.id(), ARENA_MAX)
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    environment
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_server_configures_malloc_unless_the_operator_chose() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));

    let seen = demo_environment(&[]);
    assert_eq!(
        value(&seen, ARENA_MAX),
        Some(cores.to_string()),
        "the same process (same id) runs with the arenas bounded to the cores"
    );
    assert_eq!(
        value(&seen, MMAP_THRESHOLD).as_deref(),
        Some("33554432"),
        "and with the mmap threshold fixed at 32 MiB"
    );

    let seen = demo_environment(&[(ARENA_MAX, "7")]);
    assert_eq!(
        value(&seen, ARENA_MAX).as_deref(),
        Some("7"),
        "an operator's value is kept"
    );
    assert_eq!(
        value(&seen, MMAP_THRESHOLD).as_deref(),
        Some("33554432"),
        "the other one is still set"
    );

    let seen = demo_environment(&[(ARENA_MAX, "3"), (MMAP_THRESHOLD, "65536")]);
    assert_eq!(value(&seen, ARENA_MAX).as_deref(), Some("3"));
    assert_eq!(
        value(&seen, MMAP_THRESHOLD).as_deref(),
        Some("65536"),
        "both of an operator's values are kept"
    );
}
