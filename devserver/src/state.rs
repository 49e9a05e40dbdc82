//! The shared server state and its clock.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Settings;
use crate::dpop::DpopState;
use crate::faults::FaultQueue;
use crate::jwt::Keys;
use crate::stats::Stats;
use crate::store::Store;

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct AppState {
    settings: RwLock<Settings>,
    pub(crate) keys: Keys,
    store: Mutex<Store>,
    stats: Mutex<Stats>,
    faults: Mutex<FaultQueue>,
    dpop: Mutex<DpopState>,
    /// `http://127.0.0.1:PORT`, the base of every issuer.
    pub(crate) base_url: String,
    pub(crate) verbose: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppState {
    pub(crate) fn new(settings: Settings, base_url: String, verbose: bool) -> Self {
        Self {
            settings: RwLock::new(settings),
            keys: Keys::generate(),
            store: Mutex::default(),
            stats: Mutex::default(),
            faults: Mutex::default(),
            dpop: Mutex::default(),
            base_url,
            verbose,
        }
    }

    /// A snapshot of the current settings.
    pub(crate) fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn update_settings(&self, f: impl FnOnce(&mut Settings)) -> Settings {
        let mut s = self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut s);
        s.clone()
    }

    /// Server time in Unix milliseconds: the real clock plus the offsets
    /// (`clock_offset` seconds and `clock_offset_ms`).
    pub(crate) fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let s = self.settings();
        real.saturating_add(s.clock_offset.saturating_mul(1000))
            .saturating_add(s.clock_offset_ms)
    }

    /// Server time in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub(crate) fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    pub(crate) fn faults(&self) -> MutexGuard<'_, FaultQueue> {
        lock(&self.faults)
    }

    pub(crate) fn dpop(&self) -> MutexGuard<'_, DpopState> {
        lock(&self.dpop)
    }
}
