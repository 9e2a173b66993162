//! Random numbers for tests that pick an instant or a size at random (each run tries another).

/// A random number in `0..n`.
pub fn below(n: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b) % n
}
