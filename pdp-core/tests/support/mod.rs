//! What several test binaries of `pdp-core` build the same way: the shipped catalogue and the
//! closed-question service over the shipped policy set. (Each test binary uses a part of it.)
#![allow(dead_code)]

use std::sync::Arc;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::xacml::{CompileOptions, PolicySource};

pub const POLICY: &str = include_str!("../../../policies/mitz-consent.xml");
pub const CATALOGUE: &str = include_str!("../../../policies/mitz-catalogue.json");

/// `policies/mitz-catalogue.json`.
pub fn shipped_catalogue() -> Arc<Catalogue> {
    Arc::new(Catalogue::from_json(CATALOGUE).expect("the shipped catalogue loads"))
}

/// `policies/mitz-consent.xml` with `index` as its consent information point.
pub fn shipped_service(
    catalogue: &Arc<Catalogue>,
    index: &Arc<ConsentIndex>,
) -> ClosedQuestionService {
    ClosedQuestionService::new(
        &[PolicySource {
            name: "policies/mitz-consent.xml",
            text: POLICY,
        }],
        &CompileOptions::default(),
        catalogue.clone(),
        index.clone(),
    )
    .expect("the shipped policy compiles")
}
