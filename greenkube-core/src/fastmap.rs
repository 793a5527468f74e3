//! Hash maps for the engine's per-window indexes (hundreds of thousands of string keys per
//! window): `foldhash` instead of `SipHash`, with a per-process random seed.

use std::collections::HashMap;

/// A hash map with the fast hasher.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An empty [`FastMap`] with room for `capacity` entries.
pub(crate) fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default())
}
