//! The one seeded random source of the synthetic clusters: a hand-written splitmix64 generator
//! for what is drawn once (the topology), and stateless hashes of it for what varies with time
//! (noise per pod and window, Job runs, grid weather), so any window can be computed alone. The
//! same on every platform and version: no `rand`, no hash maps in the output path.

/// The splitmix64 finaliser: a bijective mix of 64 bits.
pub(super) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A hash of two words.
pub(super) const fn hash2(a: u64, b: u64) -> u64 {
    mix(a.wrapping_add(GOLDEN) ^ mix(b.wrapping_add(GOLDEN.rotate_left(17))))
}

/// A uniform number in `[0, 1)` from 53 bits of `h`.
pub(super) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform number in `[-1, 1)`.
pub(super) fn signed(h: u64) -> f64 {
    2.0 * unit(h) - 1.0
}

/// FNV-1a of a string, case-insensitive (zone codes).
pub(super) fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Running sums of `weights`, for [`Rng::weighted_index`].
pub(super) fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

/// splitmix64: small, fast, and the same on every platform and version.
#[derive(Debug, Clone)]
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    pub(super) fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    pub(super) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// An index below `n` (`0` when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(super) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    /// An item drawn with the given weights (they need not sum to 1); `None` when empty.
    pub(super) fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> Option<&'a T> {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return Some(item);
            }
            x -= w;
        }
        items.last().map(|(item, _)| item)
    }

    /// An index drawn with the weights whose running sums are `cumulative` (see
    /// [`cumulative`]); `0` when empty.
    pub(super) fn weighted_index(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let x = self.unit() * total;
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }

    pub(super) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    pub(super) fn token(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| {
                char::from(
                    alphabet
                        .get(self.below(alphabet.len()))
                        .copied()
                        .unwrap_or(b'x'),
                )
            })
            .collect()
    }
}
