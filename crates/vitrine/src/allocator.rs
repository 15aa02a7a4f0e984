//! The system allocator, told how to behave before the server allocates anything much.
//!
//! Two glibc `malloc` habits make a long-running server's resident set grow past what it uses:
//!
//! - **Arenas.** Each thread that contends for `malloc` gets an arena of its own, up to eight
//!   per core, and each keeps the memory freed in it. A server has many threads — Tokio's
//!   workers and blocking pool, one thread per SQLite connection — so the resident set grows
//!   with the number of arenas. `MALLOC_ARENA_MAX` = the number of cores bounds them.
//! - **A moving mmap threshold.** Blocks from 128 KiB up come from `mmap` and go back to the
//!   system when freed — until one such block is freed: glibc then raises the mmap threshold
//!   to that block's size and the *trim* threshold (how much free memory the top of the heap
//!   may keep) to twice that, so from then on the heap keeps megabytes it no longer uses. The
//!   server's start frees such blocks at once (it compresses its fonts and stylesheets with
//!   brotli at its best setting). `MALLOC_MMAP_THRESHOLD_` = 32 MiB (glibc's own ceiling for
//!   the moving threshold) fixes it, which also keeps the trim threshold at its 128 KiB default.
//!
//! Measured on the load command (docs/performance.md): bounded arenas took the demo's start from
//! 127 to 80 MiB; the fixed threshold took the end of 1,000 distinct filter views from
//! 151–155 MiB to 141–144 MiB at the same throughput. A threshold of 128 KiB would keep even
//! less (124 MiB) but halves the throughput of compressed responses: each one's brotli encoder
//! (tower-http's, with a 4 MiB window) asks for several MiB, which then come fresh from `mmap`
//! and are zeroed on every response.
//!
//! glibc reads these variables only when a process starts, and setting them otherwise takes
//! `mallopt` (unsafe code, which this crate forbids). So [`configure_malloc`] starts the same
//! binary again, in place (`exec`: same process id, same arguments and environment), with the
//! variables set — once, and only those not set already: an operator's own value always wins
//! (e.g. `MALLOC_ARENA_MAX=8` for a busy many-core host). Nothing happens on other platforms,
//! other C libraries or with the `mimalloc` feature.

/// The variable that bounds glibc's arenas.
pub const ARENA_MAX: &str = "MALLOC_ARENA_MAX";

/// The variable that fixes glibc's mmap threshold (the trailing underscore is glibc's spelling).
pub const MMAP_THRESHOLD: &str = "MALLOC_MMAP_THRESHOLD_";

/// The fixed mmap threshold: 32 MiB, the highest glibc's moving threshold goes on 64-bit.
pub const MMAP_THRESHOLD_BYTES: usize = 32 * 1024 * 1024;

/// The variables [`configure_malloc`] sets, with their values on this machine.
pub fn settings() -> [(&'static str, String); 2] {
    let arenas = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    [
        (ARENA_MAX, arenas.to_string()),
        (MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES.to_string()),
    ]
}

/// Restarts this binary with [`settings`] in its environment, for those not set already;
/// returns only when there is nothing to do or the restart could not happen (then the process
/// simply goes on as it is).
pub fn configure_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
    {
        use std::os::unix::process::CommandExt as _;
        let missing: Vec<(&str, String)> = settings()
            .into_iter()
            .filter(|(name, _)| std::env::var_os(name).is_none())
            .collect();
        if missing.is_empty() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // `exec` returns only when it failed; the process then runs unchanged.
        let _failed = command.args(args).envs(missing).exec();
    }
}
