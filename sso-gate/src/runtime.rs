//! `workers`: how many threads serve requests, and the runtime built for
//! them. `"auto"` (the default) is one per CPU, as nginx's
//! `worker_processes auto`. `1` serves everything on one thread, with no
//! hand-over between threads (the figures of both in docs/sso-gate.md,
//! from bench/gate.sh). With a
//! Redis binding store even one worker gets the multi-threaded runtime,
//! so that a Redis round trip moves the other requests to a spare thread
//! (`tokio::task::block_in_place`) instead of holding them.

use std::num::NonZeroUsize;

use serde::Deserialize;

/// Most worker threads accepted.
pub const MAX_WORKERS: usize = 1024;

/// `workers` as written: a count or `"auto"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FileWorkers {
    Count(i64),
    Word(String),
}

/// `workers`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Workers {
    /// One per CPU.
    #[default]
    Auto,
    Count(NonZeroUsize),
}

impl Workers {
    /// The checked value, or what is wrong with it.
    pub fn parse(raw: Option<&FileWorkers>) -> Result<Workers, String> {
        match raw {
            None => Ok(Workers::Auto),
            Some(FileWorkers::Word(w)) if w == "auto" => Ok(Workers::Auto),
            Some(FileWorkers::Word(w)) => Err(format!("{w:?}: expected a number or \"auto\"")),
            Some(FileWorkers::Count(n)) => usize::try_from(*n)
                .ok()
                .filter(|n| *n <= MAX_WORKERS)
                .and_then(NonZeroUsize::new)
                .map(Workers::Count)
                .ok_or_else(|| format!("{n}: expected 1 to {MAX_WORKERS} or \"auto\"")),
        }
    }

    /// How many threads that is on this machine.
    pub fn threads(self) -> usize {
        match self {
            Workers::Count(n) => n.get(),
            Workers::Auto => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        }
    }

    /// Whether requests are served by one thread on its own
    /// (`block_in_place` is not possible there): not when the binding store
    /// blocks (Redis).
    pub fn single_thread(self, blocking_store: bool) -> bool {
        self.threads() == 1 && !blocking_store
    }
}

/// The runtime for `workers`; `blocking_store`: the binding store blocks
/// (Redis).
pub fn build(workers: Workers, blocking_store: bool) -> std::io::Result<tokio::runtime::Runtime> {
    if workers.single_thread(blocking_store) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.threads())
            .enable_all()
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_a_count_or_auto() {
        let count = |n| Workers::parse(Some(&FileWorkers::Count(n)));
        let word = |w: &str| Workers::parse(Some(&FileWorkers::Word(w.into())));
        assert_eq!(Workers::parse(None), Ok(Workers::Auto));
        assert_eq!(word("auto"), Ok(Workers::Auto));
        assert_eq!(count(1).unwrap().threads(), 1);
        assert_eq!(count(1024).unwrap().threads(), 1024);
        for bad in [0, -1, 1025] {
            assert!(
                count(bad).unwrap_err().contains("expected 1 to 1024"),
                "{bad}"
            );
        }
        assert!(word("4").unwrap_err().contains("expected a number"));
        assert!(Workers::Auto.threads() >= 1);
    }

    #[test]
    fn a_redis_store_keeps_a_runtime_that_can_block_in_place() {
        let one = Workers::parse(Some(&FileWorkers::Count(1))).unwrap();
        assert!(one.single_thread(false));
        assert!(!one.single_thread(true));
        let rt = build(one, true).unwrap();
        // block_in_place panics on a single-threaded runtime.
        assert_eq!(rt.block_on(async { tokio::task::block_in_place(|| 7) }), 7);
        let two = Workers::parse(Some(&FileWorkers::Count(2))).unwrap();
        assert!(!two.single_thread(false));
    }
}
