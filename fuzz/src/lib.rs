//! A stable-toolchain fuzzing harness: a seeded generator of inputs, a bounded number of
//! iterations per target, and a corpus of inputs that ever failed, replayed first.
//!
//! A target is a name and a check, a function of the input bytes that returns what is
//! wrong with how the code under test handled them (a panic counts too). [`fuzz`]
//! replays every file of `fuzz/corpus/<target>/`, then checks `iterations` generated
//! inputs: random bytes, and mutations (bit flips, boundary bytes, insertions, deletions,
//! repeats, splices, truncations) of the target's sample inputs and corpus. The seed is
//! printed, and on a failure the input is written into the corpus directory (check it
//! in: it is then replayed on every run) and the failure names the seed, the iteration
//! and that file.
//!
//! `STEAD_FUZZ_SEED=<n>` replays a run; `STEAD_FUZZ_ITERATIONS=<n>` overrides the
//! iteration count of every target (for a longer soak).

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable fixing the seed of a run.
pub const SEED_ENV: &str = "STEAD_FUZZ_SEED";
/// The environment variable overriding every target's iteration count.
pub const ITERATIONS_ENV: &str = "STEAD_FUZZ_ITERATIONS";
/// The longest generated input, in bytes.
const MAX_LEN: usize = 4096;

/// What one target's run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The target's name.
    pub target: String,
    /// The seed of the run.
    pub seed: u64,
    /// Corpus inputs replayed.
    pub replayed: usize,
    /// Generated inputs checked.
    pub iterations: usize,
    /// The time the run took.
    pub elapsed: Duration,
}

/// The corpus directory of `target`: `fuzz/corpus/<target>/`.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// Runs `target`: replays its corpus, then checks `iterations` generated inputs derived
/// from `samples`. Panics, naming the seed and the saved input, on the first failure.
pub fn fuzz(
    target: &str,
    iterations: usize,
    samples: &[Vec<u8>],
    check: impl Fn(&[u8]) -> Result<(), String>,
) -> Report {
    let started = Instant::now();
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let iterations = std::env::var(ITERATIONS_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(iterations);
    eprintln!("fuzz {target}: seed {seed} ({SEED_ENV}={seed} replays this run)");

    let corpus = read_corpus(&corpus_dir(target));
    for (path, input) in &corpus {
        if let Err(why) = run_check(&check, input) {
            panic!(
                "fuzz {target}: corpus input {} fails: {why}",
                path.display()
            );
        }
    }
    let mut pool: Vec<Vec<u8>> = samples.to_vec();
    pool.extend(corpus.into_iter().map(|(_, input)| input));

    let mut rng = fastrand::Rng::with_seed(seed);
    for iteration in 0..iterations {
        let input = generate(&mut rng, &pool);
        if let Err(why) = run_check(&check, &input) {
            let saved = save_failure(target, &input);
            panic!(
                "fuzz {target}: seed {seed}, iteration {iteration}: {why}\n\
                 input ({} bytes) saved as {}: check it in as a regression case",
                input.len(),
                saved,
            );
        }
    }
    let report = Report {
        target: target.to_string(),
        seed,
        replayed: pool.len() - samples.len(),
        iterations,
        elapsed: started.elapsed(),
    };
    eprintln!(
        "fuzz {target}: {} corpus inputs and {} generated inputs in {:.2?}",
        report.replayed, report.iterations, report.elapsed
    );
    report
}

/// Runs `check` on `input`, turning a panic into a failure.
fn run_check(check: &impl Fn(&[u8]) -> Result<(), String>, input: &[u8]) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| check(input))) {
        Ok(result) => result,
        Err(panic) => Err(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)")
        )),
    }
}

/// The files of a corpus directory, sorted by name (none when it does not exist).
fn read_corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|input| (p, input)))
        .collect()
}

/// Writes a failing input into the target's corpus; returns where (or why not).
fn save_failure(target: &str, input: &[u8]) -> String {
    let dir = corpus_dir(target);
    let mut name = String::from("failure-");
    for byte in fnv1a(input).to_be_bytes() {
        let _ = write!(name, "{byte:02x}");
    }
    let path = dir.join(name);
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(not saved: {e})"),
    }
}

/// A stable 64-bit hash naming a saved input.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Bytes that often sit on a boundary of a decoder's logic.
const INTERESTING: [u8; 14] = [
    0x00, 0x01, 0x7f, 0x80, 0xff, b'\n', b'0', b'9', b'"', b'{', b'}', b'[', b'%', b'/',
];

/// One input: random bytes, or a sample mutated one to four times.
pub fn generate(rng: &mut fastrand::Rng, pool: &[Vec<u8>]) -> Vec<u8> {
    if pool.is_empty() || rng.u8(..) < 32 {
        let most = rng.usize(1..=MAX_LEN);
        let len = rng.usize(..=most);
        return (0..len).map(|_| rng.u8(..)).collect();
    }
    let mut input = pool[rng.usize(..pool.len())].clone();
    for _ in 0..rng.usize(1..=4) {
        mutate(rng, &mut input, pool);
    }
    input.truncate(MAX_LEN);
    input
}

/// Applies one random mutation to `input`.
fn mutate(rng: &mut fastrand::Rng, input: &mut Vec<u8>, pool: &[Vec<u8>]) {
    let len = input.len();
    match rng.u8(..8) {
        0 if len > 0 => {
            let at = rng.usize(..len);
            input[at] ^= 1 << rng.u8(..8);
        }
        1 if len > 0 => {
            let at = rng.usize(..len);
            input[at] = INTERESTING[rng.usize(..INTERESTING.len())];
        }
        2 => {
            let at = rng.usize(..=len);
            let count = rng.usize(1..=16);
            let insert: Vec<u8> = (0..count).map(|_| rng.u8(..)).collect();
            input.splice(at..at, insert);
        }
        3 if len > 0 => {
            let start = rng.usize(..len);
            let end = rng.usize(start..=len);
            input.drain(start..end);
        }
        4 if len > 0 => {
            let start = rng.usize(..len);
            let end = rng.usize(start..=len.min(start + 64));
            let copy = input[start..end].to_vec();
            let at = rng.usize(..=len);
            input.splice(at..at, copy);
        }
        5 if !pool.is_empty() => {
            let other = &pool[rng.usize(..pool.len())];
            let cut = rng.usize(..=len);
            let from = rng.usize(..=other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        6 if len > 0 => input.truncate(rng.usize(..len)),
        _ => {
            let at = rng.usize(..=len);
            input.insert(at, INTERESTING[rng.usize(..INTERESTING.len())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_for_a_seed() {
        let pool = vec![b"{\"type\":\"SUBSCRIBE\"}".to_vec()];
        let run = |seed| {
            let mut rng = fastrand::Rng::with_seed(seed);
            (0..100)
                .map(|_| generate(&mut rng, &pool))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn a_failure_names_the_seed_and_is_saved() {
        let target = "harness-self-test";
        let dir = corpus_dir(target);
        let result = std::panic::catch_unwind(|| {
            fuzz(target, 1000, &[b"abc".to_vec()], |input| {
                if input.contains(&b'z') {
                    Err("found a z".into())
                } else {
                    Ok(())
                }
            })
        });
        let message = result
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .expect("the run fails");
        assert!(
            message.contains("seed") && message.contains("found a z"),
            "{message}"
        );
        let saved = read_corpus(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(saved.len(), 1);
        assert!(saved[0].1.contains(&b'z'));
    }
}
