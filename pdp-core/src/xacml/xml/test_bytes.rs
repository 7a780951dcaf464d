//! Deterministic random byte strings for the tests that check word-at-a-time scanners against
//! byte-by-byte ones (tests only).

/// `count` strings of up to `max_len - 1` bytes, each byte drawn from `alphabet` with
/// probability `1 / spread` and otherwise `plain`, from a fixed `seed` (xorshift lengths, LCG
/// bytes) so that a failure reproduces.
pub fn random_byte_strings(
    seed: u64,
    alphabet: &[u8],
    spread: usize,
    plain: u8,
    max_len: u64,
    count: usize,
) -> impl Iterator<Item = Vec<u8>> + '_ {
    let mut seed = seed;
    (0..count).map(move |_| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % max_len) as usize;
        let mut r = seed;
        (0..len)
            .map(|_| {
                r = r
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let pick = (r >> 33) as usize % (alphabet.len() * spread);
                alphabet.get(pick).copied().unwrap_or(plain)
            })
            .collect()
    })
}
