//! What the app keeps in memory: collection points' contexts for the citizen's form, with a
//! generation that every change to points advances, so that anything rendered from an older
//! generation (the web's fresh forms) is not served again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A small map whose entries expire; it holds only what exists in the database, so its size is
/// bounded by the number of collection points.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()) }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        entries.insert(key, (Instant::now(), value));
    }

    pub fn invalidate(&self, key: &K) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Forgets everything (after a change that may touch any entry, such as moving an officer).
    pub fn clear(&self) {
        self.entries.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Points' contexts by slug, and the generation of what is known of points.
#[derive(Debug)]
pub struct PointCache<V> {
    pub contexts: TtlCache<String, V>,
    generation: AtomicU64,
}

impl<V: Clone> PointCache<V> {
    pub fn new(ttl: Duration) -> Self {
        Self { contexts: TtlCache::new(ttl), generation: AtomicU64::new(0) }
    }

    /// Advances with every change to points made through this instance.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn forget(&self, slug: &str) {
        self.contexts.invalidate(&slug.to_owned());
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn forget_all(&self) {
        self.contexts.clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}
