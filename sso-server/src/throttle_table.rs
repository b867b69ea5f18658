//! One bounded table of failure counts over fixed windows, the building
//! block of [`crate::throttle`]'s memory store.
//!
//! When a table is full, expired entries go first, then the entries with
//! the lowest counts; an entry at or above its limit is never evicted
//! (otherwise a flood of junk attempts would reset the counter of the
//! account under attack). When a table holds nothing but such entries,
//! [`Table::make_room`] says no and the attempt is refused: that fails
//! closed.

use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: u64,
}

/// One bounded table of failure counts.
pub(crate) struct Table<K> {
    window: u64,
    limit: u32,
    capacity: usize,
    map: HashMap<K, Entry>,
}

impl<K: Eq + Hash + Clone> Table<K> {
    /// Forgets `key`'s failures (a success that clears its counter).
    pub(crate) fn clear(&mut self, key: &K) {
        self.map.remove(key);
    }

    /// Entries held, expired ones included until they are swept.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn new(window: u64, limit: u32, capacity: usize) -> Table<K> {
        Table {
            window,
            limit,
            capacity: capacity.max(1),
            map: HashMap::new(),
        }
    }

    fn live(&self, e: &Entry, now: u64) -> bool {
        now < e.window_start.saturating_add(self.window)
    }

    pub(crate) fn failures(&self, key: &K, now: u64) -> u32 {
        match self.map.get(key) {
            Some(e) if self.live(e, now) => e.failures,
            _ => 0,
        }
    }

    pub(crate) fn at_limit(&self, key: &K, now: u64) -> bool {
        self.failures(key, now) >= self.limit
    }

    /// Makes room for `key` if it is new; false when the table is full of
    /// entries at their limit.
    pub(crate) fn make_room(&mut self, key: &K, now: u64) -> bool {
        if self.map.contains_key(key) || self.map.len() < self.capacity {
            return true;
        }
        let (window, limit) = (self.window, self.limit);
        let live = |e: &Entry| now < e.window_start.saturating_add(window);
        self.map.retain(|_, e| live(e));
        if self.map.len() < self.capacity {
            return true;
        }
        // Evict the lowest counts first, half of the evictable ones at
        // once so the sort is paid once per many insertions; never an
        // entry at its limit.
        let mut evictable: Vec<(u32, u64, K)> = self
            .map
            .iter()
            .filter(|(_, e)| e.failures < limit)
            .map(|(k, e)| (e.failures, e.window_start, k.clone()))
            .collect();
        if evictable.is_empty() {
            return false;
        }
        evictable.sort_by_key(|(failures, start, _)| (*failures, *start));
        let n = evictable.len().div_ceil(2);
        for (_, _, k) in evictable.into_iter().take(n) {
            self.map.remove(&k);
        }
        true
    }

    pub(crate) fn add(&mut self, key: K, now: u64) {
        let window = self.window;
        let e = self.map.entry(key).or_insert(Entry {
            failures: 0,
            window_start: now,
        });
        if now >= e.window_start.saturating_add(window) {
            *e = Entry {
                failures: 0,
                window_start: now,
            };
        }
        e.failures = e.failures.saturating_add(1);
    }

    pub(crate) fn give_back(&mut self, key: &K) {
        if let Some(e) = self.map.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
        }
    }
}
