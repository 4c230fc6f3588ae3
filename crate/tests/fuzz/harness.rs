//! The harness of the fuzz properties: a counting allocator (per thread, only inside
//! `measured`), the time guard with its watchdog, and `property`, which runs a strategy
//! with the case count and seed of the environment and prints one summary line.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Read;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use spikeplay::upload::MAX_INFLATED;

// ---- Allocation counting, per thread, only inside `measured` ----

pub struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

pub fn note(delta: isize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            let live = LIVE.get() + delta;
            LIVE.set(live);
            PEAK.set(PEAK.get().max(live));
        }
    });
}

// SAFETY: every call forwards to `System` unchanged; the counters only read sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // A moving realloc holds both blocks for a moment: count the new one first.
            note(new_size as isize);
            note(-(layout.size() as isize));
        }
        p
    }
}

#[global_allocator]
pub static ALLOC: Counting = Counting;

/// Runs `f`, returning its result and the peak bytes it held above what was live before.
pub fn measured<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.set(0);
    PEAK.set(0);
    ON.set(true);
    let r = f();
    ON.set(false);
    (r, PEAK.get().max(0) as usize)
}

// ---- Time guard ----

/// A call slower than this fails its case (and proptest shrinks the input).
pub const CASE_SECS: f64 = 5.0;
/// A call still running after this is reported and the process exits: a hang fails CI.
pub const HANG_SECS: u64 = 60;

pub struct Watch {
    started: Option<(Instant, &'static str)>,
    input: Vec<u8>,
}

pub static WATCH: Mutex<Watch> = Mutex::new(Watch { started: None, input: Vec::new() });

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_millis(250));
            let w = lock(&WATCH);
            if let Some((t, what)) = w.started.filter(|(t, _)| t.elapsed() > Duration::from_secs(HANG_SECS)) {
                eprintln!("fuzz: {what} still running after {:.0} s on this input ({} bytes): {:?}", t.elapsed().as_secs_f64(), w.input.len(), &w.input);
                std::process::exit(101);
            }
        });
    });
}

/// Peak bytes and seconds of the slowest and hungriest calls of a property.
#[derive(Default)]
pub struct Stats {
    calls: Cell<u64>,
    /// Cases whose main parse accepted the input: how deep the generators reach.
    accepted: Cell<u64>,
    peak: Cell<usize>,
    peak_input: Cell<usize>,
    slowest: Cell<f64>,
}

impl Stats {
    pub fn accept(&self) {
        self.accepted.set(self.accepted.get() + 1);
    }
}

/// Runs the parser call `f` on `input` under the watchdog and the allocation counter, and
/// fails the case if it held more than `16 x size + 1 MiB` (`size`: the input's bytes,
/// inflated where gzip) or took longer than `CASE_SECS`.
pub fn guarded<R>(stats: &Stats, what: &'static str, input: &[u8], size: usize, f: impl FnOnce() -> R) -> Result<R, TestCaseError> {
    {
        let mut w = lock(&WATCH);
        w.input.clear();
        w.input.extend_from_slice(input);
        w.started = Some((Instant::now(), what));
    }
    // Stops the watch when the call returns or panics (proptest catches the panic).
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            lock(&WATCH).started = None;
        }
    }
    let done = Done;
    let start = Instant::now();
    let (r, peak) = measured(f);
    let secs = start.elapsed().as_secs_f64();
    drop(done);
    stats.calls.set(stats.calls.get() + 1);
    if peak > stats.peak.get() {
        stats.peak.set(peak);
        stats.peak_input.set(size);
    }
    stats.slowest.set(stats.slowest.get().max(secs));
    let bound = 16 * size + (1 << 20);
    prop_assert!(peak <= bound, "{what}: peak {peak} bytes for an input of {size} bytes, over the bound {bound}");
    prop_assert!(secs < CASE_SECS, "{what}: {secs:.2} s for an input of {size} bytes");
    Ok(r)
}

/// Bytes a parser may have to hold for `bytes`: the file, plus what it inflates to (and
/// what that inflates to: `parse_files` inflates a file, then `parse_csv` the result).
pub fn size_of(bytes: &[u8]) -> usize {
    pub fn inflated(bytes: &[u8], depth: u32) -> usize {
        if depth == 0 || !bytes.starts_with(&[0x1f, 0x8b]) {
            return 0;
        }
        let mut out = Vec::new();
        let _ = flate2::read::GzDecoder::new(bytes).take(MAX_INFLATED as u64).read_to_end(&mut out);
        out.len() + inflated(&out, depth - 1)
    }
    bytes.len() + inflated(bytes, 2)
}

// ---- Running a property ----

pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn cases() -> u32 {
    std::env::var("SPIKEPLAY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// Runs `test` on `cases()` inputs from `strategy`, one property at a time (so the
/// timings do not share the cores), and prints one summary line.
pub fn property<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value, &Stats) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let _serial = lock(&SERIAL);
    watchdog();
    let seed = std::env::var("SPIKEPLAY_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        t.as_nanos() as u64 ^ std::process::id() as u64
    });
    let config = Config { cases: cases(), failure_persistence: None, rng_seed: RngSeed::Fixed(seed), max_shrink_time: 60_000, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let stats = Stats::default();
    let start = Instant::now();
    let result = runner.run(&strategy, |v| test(v, &stats));
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {} cases ({} accepted), {} parser calls in {secs:.1} s; peak {} bytes (input {} bytes); slowest call {:.3} s; seed {seed}",
        cases(),
        stats.accepted.get(),
        stats.calls.get(),
        stats.peak.get(),
        stats.peak_input.get(),
        stats.slowest.get()
    );
    match result {
        Ok(()) => {}
        Err(proptest::test_runner::TestError::Fail(why, input)) => panic!("fuzz {name} (SPIKEPLAY_FUZZ_SEED={seed}): {why}; minimal input: {input:?}"),
        Err(e) => panic!("fuzz {name} (SPIKEPLAY_FUZZ_SEED={seed}): {e}"),
    }
}
