//! A store's live records in the index's own form, per BSN, for comparing a node's index with
//! its store record for record.
#![allow(dead_code)]

use std::collections::BTreeMap;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::index::IndexedRecord;
use pdp_server::store::Store;

/// Every live record of the store, as the index would hold it, per BSN (sorted).
pub fn store_state(store: &mut dyn Store, c: &Catalogue) -> BTreeMap<u32, Vec<IndexedRecord>> {
    let mut state: BTreeMap<u32, Vec<IndexedRecord>> = BTreeMap::new();
    store
        .load_all(
            c,
            &mut |row| {
                let r = row.expect("decodable");
                state
                    .entry(r.bsn.get())
                    .or_default()
                    .push(IndexedRecord::of(&r));
            },
            &mut |_| {},
        )
        .expect("load_all");
    for v in state.values_mut() {
        v.sort();
    }
    state
}
