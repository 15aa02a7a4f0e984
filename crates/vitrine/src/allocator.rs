//! The system allocator's arenas, bounded before the server allocates anything much.
//!
//! glibc's `malloc` gives each thread that contends for it an arena of its own, up to eight per
//! core. A server has many threads — Tokio's workers and blocking pool, one thread per SQLite
//! connection — and each arena keeps the memory freed in it, so the resident set grows with the
//! number of arenas rather than with what is in use. Measured on the load command and the live
//! benchmark (docs/performance.md): with the arenas bounded to the number of cores, the demo
//! starts at 80 MiB instead of 127 MiB, ends 1,000 distinct filter views at 190 MiB instead of
//! 245 MiB, and an open live viewer costs 24 KiB instead of 28 KiB.
//!
//! glibc reads `MALLOC_ARENA_MAX` only when a process starts, and setting it otherwise takes
//! `mallopt` (unsafe code, which this crate forbids). So [`bound_arenas`] starts the same binary
//! again, in place (`exec`: same process id, same arguments and environment), with the variable
//! set — once, and only when it is not set already: an operator's own value always wins (set
//! `MALLOC_ARENA_MAX=8` or more for a busy many-core host). Nothing happens on other platforms,
//! other C libraries or with the `mimalloc` feature.

/// The variable glibc reads.
pub const VAR: &str = "MALLOC_ARENA_MAX";

/// Restarts this binary with `MALLOC_ARENA_MAX` set to the number of cores (at least 2) unless
/// it is set; returns only when there is nothing to do or the restart could not happen (then
/// the process simply goes on as it is).
pub fn bound_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
    {
        use std::os::unix::process::CommandExt as _;
        if std::env::var_os(VAR).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let arenas = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // `exec` returns only when it failed; the process then runs unchanged.
        let _failed = command.args(args).env(VAR, arenas.to_string()).exec();
    }
}
