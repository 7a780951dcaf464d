//! The Mitz consent catalogue as data: data categories and their hierarchy, consulting-provider
//! categories, data-holder categories and the organisation-type table.
//!
//! The catalogue changes with Mitz releases and several of its mappings are Akkoord's own
//! readings (domain model §1.2–§1.6, marked [I]/[O] there), so it lives in a versioned file —
//! `policies/mitz-catalogue.json` — that an operator can correct without a new build. The core
//! never reads files: the caller passes the text to [`Catalogue::from_json`]. Loading resolves
//! every code to a small integer id once; decisions then compare integers only.
//!
//! # File format (`akkoord-mitz-catalogue/1`)
//!
//! ```json
//! {
//!   "format": "akkoord-mitz-catalogue/1",
//!   "version": "3960100",
//!   "note": "free text",
//!   "data_categories": [
//!     {"code": "GGC002", "display": "Behandelgegevens", "covers": ["GGC012", "GGC013"]},
//!     {"code": "GGC012", "display": "Uitslagen"},
//!     {"code": "GGC007", "display": "Medische beelden", "active": false, "note": "..."}
//!   ],
//!   "consulting_categories": [{"code": "RPZAC001", "display": "Huisartsen en huisartsenposten"}],
//!   "holder_categories": [{"name": "huisartsen", "display": "...", "data_category": "GGC002"}],
//!   "organisation_types": [
//!     {"code": "Z3", "display": "Huisartspraktijk", "holder_category": "huisartsen",
//!      "consulting_category": "RPZAC001", "note": "optional: why this mapping"}
//!   ]
//! }
//! ```
//!
//! - `version`: the Mitz coding version (digits), stored with every consent record and written
//!   into every catalogue coding of the FHIR format.
//! - `data_categories[].covers`: the data categories a choice for this one also covers (domain
//!   §1.5: consent for GGC002 covers GGC012 and GGC013). The relation is closed transitively at
//!   load; a cycle is an error. At most 16 active data categories (the index keeps a 16×16
//!   covers matrix).
//! - `active: false` (default `true`): the code is known but not in use (GGC007, GGC008). It gets
//!   no id, so records and questions for it are refused, but with a "not active" message instead
//!   of "unknown". An inactive category cannot appear in `covers` or as a holder category's
//!   `data_category`.
//! - `consulting_categories`: at most 16; the position in the list is the category's bit in a
//!   record's consulting set, so reordering the list reinterprets stored index bits (records in
//!   the store keep codes, so rebuilding the index from the store is always safe).
//! - `holder_categories[].data_category`: the data category a categorical choice for this holder
//!   category is about (the options table has one per holder category today). At most 256.
//! - `organisation_types`: the Nictiz/Vektis organisation-type code → holder category and
//!   consulting category. A code absent here is unknown: lookups return `None` and the caller
//!   reports it (the closed question answers `Indeterminate`), never guesses.
//! - `note` is allowed on every object and at the top level; it is documentation only.
//!
//! Unknown fields are refused, so a typo in a field name is an error, not a silently ignored
//! mapping.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

/// The most data categories a catalogue may have (the index's covers matrix is 16×16 bits).
pub const MAX_DATA_CATEGORIES: usize = 16;
/// The most consulting categories (a record's consulting set is a 16-bit mask).
pub const MAX_CONSULTING_CATEGORIES: usize = 16;
/// The most holder categories (the index stores the id in 8 bits).
pub const MAX_HOLDER_CATEGORIES: usize = 256;

/// A data category (GGC code) of one catalogue: an index into its list, below 16.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DataCategoryId(u8);

/// A consulting-provider category (RPZAC code): its bit in a [`ConsultingSet`], below 16.
///
/// [`ConsultingSet`]: super::record::ConsultingSet
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ConsultingCategoryId(u8);

/// A data-holder category (e.g. `apotheken`) of one catalogue.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct HolderCategoryId(u8);

macro_rules! id_accessors {
    ($t:ty) => {
        impl $t {
            /// The position of this id in its catalogue list.
            pub fn index(self) -> usize {
                usize::from(self.0)
            }

            /// The id at position `index` (from [`Self::index`] of an id of the same
            /// catalogue: for ids packed and unpacked within one process).
            pub(crate) fn from_index(index: u8) -> Self {
                Self(index)
            }
        }
    };
}
id_accessors!(DataCategoryId);
id_accessors!(ConsultingCategoryId);
id_accessors!(HolderCategoryId);

/// A catalogue file that cannot be used. Every variant names the offending code and says what
/// to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CatalogueError {
    /// Not valid JSON, or not the shape documented in the module docs.
    Json(String),
    /// A field has a value that is not allowed.
    Invalid { field: String, problem: String },
    /// The same code appears twice in one list.
    Duplicate { list: &'static str, code: String },
    /// A code is referenced but not defined (or defined inactive).
    UnknownReference {
        field: String,
        code: String,
        list: &'static str,
    },
    /// `covers` relations form a cycle through this code.
    Cycle { code: String },
    /// A list is longer than the index supports.
    TooMany { list: &'static str, max: usize },
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogueError::Json(e) => write!(
                f,
                "the catalogue is not valid catalogue JSON ({e}); see the format in pdp-core/src/consent/catalogue.rs"
            ),
            CatalogueError::Invalid { field, problem } => write!(f, "catalogue field {field}: {problem}"),
            CatalogueError::Duplicate { list, code } => {
                write!(f, "catalogue list {list} has code {code} twice; keep one entry")
            }
            CatalogueError::UnknownReference { field, code, list } => write!(
                f,
                "catalogue field {field} refers to {code}, which is not an active entry of {list}; add it there or fix the code"
            ),
            CatalogueError::Cycle { code } => write!(
                f,
                "catalogue data category {code} covers itself through its 'covers' list; the hierarchy must not have cycles"
            ),
            CatalogueError::TooMany { list, max } => write!(
                f,
                "catalogue list {list} has more than {max} active entries, the most the consent index supports"
            ),
        }
    }
}

impl std::error::Error for CatalogueError {}

/// One data category as the catalogue lists it.
#[derive(Clone, Debug)]
pub struct DataCategory {
    pub code: String,
    pub display: String,
}

/// One consulting category.
#[derive(Clone, Debug)]
pub struct ConsultingCategory {
    pub code: String,
    pub display: String,
}

/// One holder category.
#[derive(Clone, Debug)]
pub struct HolderCategory {
    pub name: String,
    pub display: String,
    /// The data category that categorical choices for this holder category are about.
    pub data_category: DataCategoryId,
}

/// One row of the organisation-type table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrganisationType {
    pub holder_category: HolderCategoryId,
    pub consulting_category: ConsultingCategoryId,
}

/// The loaded catalogue: code lists with their ids, the closed hierarchy and the
/// organisation-type table. Immutable once built; share it by reference or `Arc`.
#[derive(Clone, Debug)]
pub struct Catalogue {
    version: u32,
    data_categories: Vec<DataCategory>,
    inactive_data_categories: Vec<String>,
    /// `covered_by[asked]`: bit `r` set when a record for data category `r` covers a question
    /// for `asked` (itself included).
    covered_by: [u16; MAX_DATA_CATEGORIES],
    consulting_categories: Vec<ConsultingCategory>,
    holder_categories: Vec<HolderCategory>,
    /// Sorted by [`code_key`]: organisation-type codes are two or three characters, so a packed
    /// integer key and a binary search over a few dozen integers beat hashing the strings on the
    /// decision path (two lookups per closed question).
    organisation_types: Vec<(u128, Box<str>, OrganisationType)>,
    /// [`code_key`] of each data category's code, consulting category's code and holder
    /// category's name, in id order (`None` for one longer than 15 bytes): lookups by code run
    /// on every decoded store row and every question, and a scan of a few dozen integers is
    /// cheaper than comparing the strings.
    data_keys: Vec<Option<u128>>,
    consulting_keys: Vec<Option<u128>>,
    holder_keys: Vec<Option<u128>>,
}

/// The position of `code` among `keys` (the catalogue's packed code keys); codes too long for a
/// key are compared as strings by `matches`.
fn find_code(keys: &[Option<u128>], code: &str, matches: impl Fn(usize) -> bool) -> Option<usize> {
    match code_key(code) {
        Some(k) => keys.iter().position(|x| *x == Some(k)),
        None => (0..keys.len()).find(|&i| keys[i].is_none() && matches(i)),
    }
}

/// A code of at most 15 bytes packed into an integer that orders and compares like the code
/// (length in the low byte so that "A1" and "A1\0" differ); `None` for longer codes. The
/// catalogue refuses organisation-type codes longer than 15 characters when it loads (real ones
/// are two or three), and a longer code in a question is simply not found.
fn code_key(code: &str) -> Option<u128> {
    let bytes = code.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut key = 0u128;
    for &b in bytes {
        key = (key << 8) | u128::from(b);
    }
    key <<= 8 * (15 - bytes.len());
    Some((key << 8) | bytes.len() as u128)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCatalogue {
    format: String,
    version: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    data_categories: Vec<FileDataCategory>,
    consulting_categories: Vec<FileCode>,
    holder_categories: Vec<FileHolderCategory>,
    organisation_types: Vec<FileOrganisationType>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDataCategory {
    code: String,
    display: String,
    #[serde(default)]
    covers: Vec<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCode {
    code: String,
    display: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHolderCategory {
    name: String,
    display: String,
    data_category: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOrganisationType {
    code: String,
    #[serde(default)]
    #[allow(dead_code)]
    display: Option<String>,
    holder_category: String,
    consulting_category: String,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

/// The format tag this code reads.
pub const FORMAT: &str = "akkoord-mitz-catalogue/1";

impl Catalogue {
    /// Loads and checks a catalogue from its JSON text (see the module docs for the format).
    /// Runs once at start; cost is negligible (tens of microseconds).
    pub fn from_json(text: &str) -> Result<Catalogue, CatalogueError> {
        let file: FileCatalogue =
            serde_json::from_str(text).map_err(|e| CatalogueError::Json(e.to_string()))?;
        if file.format != FORMAT {
            return Err(CatalogueError::Invalid {
                field: "format".into(),
                problem: format!("is {:?}; this Akkoord reads {FORMAT:?}", file.format),
            });
        }
        let version = parse_version(&file.version).ok_or_else(|| CatalogueError::Invalid {
            field: "version".into(),
            problem: "must be the Mitz coding version as digits, e.g. \"3960100\"".into(),
        })?;

        // Data categories: ids in file order, inactive ones kept apart.
        let mut data_categories = Vec::new();
        let mut inactive_data_categories = Vec::new();
        let mut seen = HashMap::new();
        for entry in &file.data_categories {
            check_code("data_categories[].code", &entry.code)?;
            if seen.insert(entry.code.clone(), ()).is_some() {
                return Err(CatalogueError::Duplicate {
                    list: "data_categories",
                    code: entry.code.clone(),
                });
            }
            if entry.active {
                data_categories.push(DataCategory {
                    code: entry.code.clone(),
                    display: entry.display.clone(),
                });
            } else {
                inactive_data_categories.push(entry.code.clone());
            }
        }
        if data_categories.len() > MAX_DATA_CATEGORIES {
            return Err(CatalogueError::TooMany {
                list: "data_categories",
                max: MAX_DATA_CATEGORIES,
            });
        }
        let find_data = |code: &str| {
            data_categories
                .iter()
                .position(|d| d.code == code)
                .map(|i| i as u8)
        };
        // Direct "covers" edges as bit masks, then the transitive closure.
        let mut covers = [0u16; MAX_DATA_CATEGORIES];
        for entry in file.data_categories.iter().filter(|e| e.active) {
            let Some(from) = find_data(&entry.code) else {
                continue;
            };
            for lower in &entry.covers {
                let to = find_data(lower).ok_or_else(|| CatalogueError::UnknownReference {
                    field: format!("data_categories[{}].covers", entry.code),
                    code: lower.clone(),
                    list: "data_categories",
                })?;
                covers[usize::from(from)] |= 1 << to;
            }
        }
        for entry in file.data_categories.iter().filter(|e| !e.active) {
            if !entry.covers.is_empty() {
                return Err(CatalogueError::Invalid {
                    field: format!("data_categories[{}].covers", entry.code),
                    problem: "an inactive data category cannot cover others; remove 'covers' or make it active".into(),
                });
            }
        }
        let n = data_categories.len();
        // Floyd–Warshall on at most 16 nodes.
        for k in 0..n {
            for i in 0..n {
                if covers[i] & (1 << k) != 0 {
                    covers[i] |= covers[k];
                }
            }
        }
        if let Some(i) = (0..n).find(|&i| covers[i] & (1 << i) != 0) {
            return Err(CatalogueError::Cycle {
                code: data_categories[i].code.clone(),
            });
        }
        let mut covered_by = [0u16; MAX_DATA_CATEGORIES];
        for (asked, mask) in covered_by.iter_mut().enumerate().take(n) {
            *mask = 1 << asked;
            for (record, covers_mask) in covers.iter().enumerate().take(n) {
                if covers_mask & (1 << asked) != 0 {
                    *mask |= 1 << record;
                }
            }
        }

        let mut consulting_categories: Vec<ConsultingCategory> = Vec::new();
        for entry in &file.consulting_categories {
            check_code("consulting_categories[].code", &entry.code)?;
            if consulting_categories.iter().any(|c| c.code == entry.code) {
                return Err(CatalogueError::Duplicate {
                    list: "consulting_categories",
                    code: entry.code.clone(),
                });
            }
            consulting_categories.push(ConsultingCategory {
                code: entry.code.clone(),
                display: entry.display.clone(),
            });
        }
        if consulting_categories.len() > MAX_CONSULTING_CATEGORIES {
            return Err(CatalogueError::TooMany {
                list: "consulting_categories",
                max: MAX_CONSULTING_CATEGORIES,
            });
        }

        let mut holder_categories: Vec<HolderCategory> = Vec::new();
        for entry in &file.holder_categories {
            check_code("holder_categories[].name", &entry.name)?;
            if holder_categories.iter().any(|h| h.name == entry.name) {
                return Err(CatalogueError::Duplicate {
                    list: "holder_categories",
                    code: entry.name.clone(),
                });
            }
            let data = find_data(&entry.data_category).ok_or_else(|| {
                CatalogueError::UnknownReference {
                    field: format!("holder_categories[{}].data_category", entry.name),
                    code: entry.data_category.clone(),
                    list: "data_categories",
                }
            })?;
            holder_categories.push(HolderCategory {
                name: entry.name.clone(),
                display: entry.display.clone(),
                data_category: DataCategoryId(data),
            });
        }
        if holder_categories.len() > MAX_HOLDER_CATEGORIES {
            return Err(CatalogueError::TooMany {
                list: "holder_categories",
                max: MAX_HOLDER_CATEGORIES,
            });
        }

        let mut organisation_types: HashMap<String, OrganisationType> = HashMap::new();
        for entry in &file.organisation_types {
            check_code("organisation_types[].code", &entry.code)?;
            let holder = holder_categories
                .iter()
                .position(|h| h.name == entry.holder_category)
                .ok_or_else(|| CatalogueError::UnknownReference {
                    field: format!("organisation_types[{}].holder_category", entry.code),
                    code: entry.holder_category.clone(),
                    list: "holder_categories",
                })?;
            let consulting = consulting_categories
                .iter()
                .position(|c| c.code == entry.consulting_category)
                .ok_or_else(|| CatalogueError::UnknownReference {
                    field: format!("organisation_types[{}].consulting_category", entry.code),
                    code: entry.consulting_category.clone(),
                    list: "consulting_categories",
                })?;
            let row = OrganisationType {
                holder_category: HolderCategoryId(holder as u8),
                consulting_category: ConsultingCategoryId(consulting as u8),
            };
            if organisation_types.insert(entry.code.clone(), row).is_some() {
                return Err(CatalogueError::Duplicate {
                    list: "organisation_types",
                    code: entry.code.clone(),
                });
            }
        }

        let mut packed = Vec::with_capacity(organisation_types.len());
        for (code, row) in organisation_types {
            let key = code_key(&code).ok_or_else(|| CatalogueError::Invalid {
                field: "organisation_types[].code".to_string(),
                problem: format!("code {code} is longer than 15 characters"),
            })?;
            packed.push((key, code.into_boxed_str(), row));
        }
        packed.sort_by_key(|(key, _, _)| *key);
        let organisation_types = packed;

        Ok(Catalogue {
            version,
            data_keys: data_categories.iter().map(|d| code_key(&d.code)).collect(),
            consulting_keys: consulting_categories
                .iter()
                .map(|c| code_key(&c.code))
                .collect(),
            holder_keys: holder_categories
                .iter()
                .map(|h| code_key(&h.name))
                .collect(),
            data_categories,
            inactive_data_categories,
            covered_by,
            consulting_categories,
            holder_categories,
            organisation_types,
        })
    }

    /// The Mitz coding version of this catalogue (e.g. 3960100).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The id of an active data category (GGC code); `None` for unknown or inactive codes.
    pub fn data_category(&self, code: &str) -> Option<DataCategoryId> {
        self.data_categories
            .iter()
            .position(|d| d.code == code)
            .map(|i| DataCategoryId(i as u8))
    }

    /// Whether `code` is listed but inactive (GGC007, GGC008): lets a caller say "not active"
    /// rather than "unknown".
    pub fn is_inactive_data_category(&self, code: &str) -> bool {
        self.inactive_data_categories.iter().any(|c| c == code)
    }

    /// Whether a choice recorded for `record` applies to a question about `asked`: equal, or
    /// `record` is an ancestor of `asked` in the hierarchy.
    pub fn covers(&self, record: DataCategoryId, asked: DataCategoryId) -> bool {
        self.covered_by_mask(asked) & (1 << record.0) != 0
    }

    /// The data categories whose choices apply to a question about `asked`, as a bit mask
    /// (bit = [`DataCategoryId::index`]). What the consent index precomputes.
    pub fn covered_by_mask(&self, asked: DataCategoryId) -> u16 {
        self.covered_by
            .get(usize::from(asked.0))
            .copied()
            .unwrap_or(0)
    }

    /// The whole covers matrix, indexed by the asked category's id.
    pub fn covered_by_matrix(&self) -> [u16; MAX_DATA_CATEGORIES] {
        self.covered_by
    }

    /// The id of a consulting category (RPZAC code).
    pub fn consulting_category(&self, code: &str) -> Option<ConsultingCategoryId> {
        self.consulting_categories
            .iter()
            .position(|c| c.code == code)
            .map(|i| ConsultingCategoryId(i as u8))
    }

    /// The id of a holder category by its name (e.g. `apotheken`).
    pub fn holder_category(&self, name: &str) -> Option<HolderCategoryId> {
        self.holder_categories
            .iter()
            .position(|h| h.name == name)
            .map(|i| HolderCategoryId(i as u8))
    }

    /// [`Catalogue::data_category`] through packed integer keys: for bulk decoding of store
    /// rows (tens of millions of lookups in a full load), where it beats comparing strings. The
    /// question path keeps the plain scans, which measured faster there (a closed question
    /// makes only a few lookups).
    pub fn data_category_by_key(&self, code: &str) -> Option<DataCategoryId> {
        find_code(&self.data_keys, code, |i| {
            self.data_categories[i].code == code
        })
        .map(|i| DataCategoryId(i as u8))
    }

    /// [`Catalogue::consulting_category`] through packed keys (see
    /// [`Catalogue::data_category_by_key`]).
    pub fn consulting_category_by_key(&self, code: &str) -> Option<ConsultingCategoryId> {
        find_code(&self.consulting_keys, code, |i| {
            self.consulting_categories[i].code == code
        })
        .map(|i| ConsultingCategoryId(i as u8))
    }

    /// [`Catalogue::holder_category`] through packed keys (see
    /// [`Catalogue::data_category_by_key`]).
    pub fn holder_category_by_key(&self, name: &str) -> Option<HolderCategoryId> {
        find_code(&self.holder_keys, name, |i| {
            self.holder_categories[i].name == name
        })
        .map(|i| HolderCategoryId(i as u8))
    }

    /// The organisation-type row for a code of 2.16.840.1.113883.2.4.15.1060; `None` when the
    /// catalogue does not map the type (report it; do not guess).
    pub fn organisation_type(&self, code: &str) -> Option<OrganisationType> {
        let key = code_key(code)?;
        self.organisation_types
            .binary_search_by_key(&key, |(k, _, _)| *k)
            .ok()
            .map(|i| self.organisation_types[i].2)
    }

    /// The holder category of a data holder of this organisation type.
    pub fn holder_category_of_type(&self, code: &str) -> Option<HolderCategoryId> {
        self.organisation_type(code).map(|t| t.holder_category)
    }

    /// The consulting category of a requester of this organisation type.
    pub fn consulting_category_of_type(&self, code: &str) -> Option<ConsultingCategoryId> {
        self.organisation_type(code).map(|t| t.consulting_category)
    }

    /// The GGC code of a data category id (`None` for an id of another catalogue).
    pub fn data_category_code(&self, id: DataCategoryId) -> Option<&str> {
        self.data_categories
            .get(id.index())
            .map(|d| d.code.as_str())
    }

    /// The RPZAC code of a consulting category id.
    pub fn consulting_category_code(&self, id: ConsultingCategoryId) -> Option<&str> {
        self.consulting_categories
            .get(id.index())
            .map(|c| c.code.as_str())
    }

    /// The name of a holder category id.
    pub fn holder_category_name(&self, id: HolderCategoryId) -> Option<&str> {
        self.holder_categories
            .get(id.index())
            .map(|h| h.name.as_str())
    }

    /// Full entry of a data category.
    pub fn data_category_entry(&self, id: DataCategoryId) -> Option<&DataCategory> {
        self.data_categories.get(id.index())
    }

    /// Full entry of a consulting category.
    pub fn consulting_category_entry(
        &self,
        id: ConsultingCategoryId,
    ) -> Option<&ConsultingCategory> {
        self.consulting_categories.get(id.index())
    }

    /// Full entry of a holder category.
    pub fn holder_category_entry(&self, id: HolderCategoryId) -> Option<&HolderCategory> {
        self.holder_categories.get(id.index())
    }

    /// All active data category ids, in file order.
    pub fn data_category_ids(&self) -> impl Iterator<Item = DataCategoryId> + '_ {
        (0..self.data_categories.len()).map(|i| DataCategoryId(i as u8))
    }

    /// All consulting category ids, in file order.
    pub fn consulting_category_ids(&self) -> impl Iterator<Item = ConsultingCategoryId> + '_ {
        (0..self.consulting_categories.len()).map(|i| ConsultingCategoryId(i as u8))
    }

    /// All holder category ids, in file order.
    pub fn holder_category_ids(&self) -> impl Iterator<Item = HolderCategoryId> + '_ {
        (0..self.holder_categories.len()).map(|i| HolderCategoryId(i as u8))
    }

    /// All organisation-type codes the catalogue maps (unordered).
    pub fn organisation_type_codes(&self) -> impl Iterator<Item = &str> + '_ {
        self.organisation_types.iter().map(|(_, code, _)| &**code)
    }
}

fn parse_version(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn check_code(field: &str, code: &str) -> Result<(), CatalogueError> {
    if code.is_empty() || code.len() > 64 || code.chars().any(|c| c.is_whitespace()) {
        return Err(CatalogueError::Invalid {
            field: field.into(),
            problem: format!("{code:?} is not a code: use 1 to 64 characters without spaces"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../policies/mitz-catalogue.json");

    fn shipped() -> Catalogue {
        Catalogue::from_json(SHIPPED).expect("the shipped catalogue loads")
    }

    #[test]
    fn shipped_catalogue_loads_with_its_version_and_hierarchy() {
        let c = shipped();
        assert_eq!(c.version(), 3_960_100);
        let ggc002 = c.data_category("GGC002").expect("GGC002");
        let ggc012 = c.data_category("GGC012").expect("GGC012");
        let ggc013 = c.data_category("GGC013").expect("GGC013");
        assert!(c.covers(ggc002, ggc012));
        assert!(c.covers(ggc002, ggc013));
        assert!(c.covers(ggc002, ggc002));
        assert!(!c.covers(ggc012, ggc002));
        assert!(!c.covers(ggc013, ggc012));
        assert_eq!(c.data_category("GGC007"), None);
        assert!(c.is_inactive_data_category("GGC007"));
        assert!(!c.is_inactive_data_category("GGC099"));
    }

    #[test]
    fn organisation_types_map_to_categories_and_back() {
        let c = shipped();
        let apotheken = c.holder_category("apotheken").expect("apotheken");
        assert_eq!(c.holder_category_of_type("J8"), Some(apotheken));
        let rpzac005 = c.consulting_category("RPZAC005").expect("RPZAC005");
        assert_eq!(c.consulting_category_of_type("J8"), Some(rpzac005));
        assert_eq!(c.consulting_category_code(rpzac005), Some("RPZAC005"));
        assert_eq!(c.holder_category_name(apotheken), Some("apotheken"));
        let ggc013 = c.data_category("GGC013").expect("GGC013");
        assert_eq!(
            c.holder_category_entry(apotheken).map(|h| h.data_category),
            Some(ggc013)
        );
        // Z3 is a GP practice, not a hospital (domain §1.4 warning).
        assert_eq!(
            c.holder_category_of_type("Z3"),
            c.holder_category("huisartsen")
        );
        assert_eq!(
            c.holder_category_of_type("V6"),
            c.holder_category("ziekenhuizen")
        );
        assert_eq!(c.holder_category_of_type("XX"), None);
        assert_eq!(c.consulting_category_of_type("XX"), None);
        assert_eq!(c.consulting_category_ids().count(), 7);
    }

    fn minimal(data: &str, holders: &str) -> String {
        format!(
            r#"{{"format":"akkoord-mitz-catalogue/1","version":"1","data_categories":[{data}],
               "consulting_categories":[{{"code":"RPZAC001","display":"GP"}}],
               "holder_categories":[{holders}],"organisation_types":[]}}"#
        )
    }

    #[test]
    fn cycles_and_unknown_references_are_reported_by_code() {
        let cyc = minimal(
            r#"{"code":"A","display":"a","covers":["B"]},{"code":"B","display":"b","covers":["A"]}"#,
            "",
        );
        assert!(matches!(
            Catalogue::from_json(&cyc),
            Err(CatalogueError::Cycle { .. })
        ));
        let unknown = minimal(r#"{"code":"A","display":"a","covers":["Z"]}"#, "");
        let err = Catalogue::from_json(&unknown).expect_err("unknown covers");
        assert!(err.to_string().contains('Z'), "{err}");
        let holder = minimal(
            r#"{"code":"A","display":"a"}"#,
            r#"{"name":"h","display":"h","data_category":"Q"}"#,
        );
        let err = Catalogue::from_json(&holder).expect_err("unknown data category");
        assert!(
            err.to_string()
                .contains("holder_categories[h].data_category"),
            "{err}"
        );
    }

    #[test]
    fn transitive_hierarchy_is_closed() {
        let text = minimal(
            r#"{"code":"A","display":"a","covers":["B"]},{"code":"B","display":"b","covers":["C"]},{"code":"C","display":"c"}"#,
            "",
        );
        let c = Catalogue::from_json(&text).expect("loads");
        let (a, cc) = (
            c.data_category("A").expect("A"),
            c.data_category("C").expect("C"),
        );
        assert!(c.covers(a, cc));
        assert!(!c.covers(cc, a));
    }

    #[test]
    fn typos_in_field_names_and_bad_versions_are_errors() {
        let typo = SHIPPED.replacen("\"covers\"", "\"cover\"", 1);
        assert!(matches!(
            Catalogue::from_json(&typo),
            Err(CatalogueError::Json(_))
        ));
        let version = SHIPPED.replacen("\"3960100\"", "\"v3\"", 1);
        assert!(matches!(
            Catalogue::from_json(&version),
            Err(CatalogueError::Invalid { .. })
        ));
        assert!(Catalogue::from_json("not json").is_err());
    }
}

#[cfg(test)]
mod code_lookup_tests {
    use super::*;

    /// Every code and name finds its own id through the packed keys, names longer than a key
    /// (`verpleging-verzorging`) through the string fallback, and near misses find nothing.
    #[test]
    fn every_code_finds_its_own_id() {
        let c = Catalogue::from_json(include_str!("../../../policies/mitz-catalogue.json"))
            .expect("catalogue");
        let mut long_names = 0;
        for id in c.holder_category_ids() {
            let name = c.holder_category_name(id).expect("name").to_string();
            long_names += usize::from(name.len() > 15);
            assert_eq!(c.holder_category(&name), Some(id), "{name}");
            assert_eq!(c.holder_category_by_key(&name), Some(id), "{name}");
            assert_eq!(c.holder_category_by_key(&format!("{name}x")), None);
            assert_eq!(c.holder_category_by_key(&name[..name.len() - 1]), None);
        }
        assert!(long_names > 0, "the fallback for long names is exercised");
        for id in c.data_category_ids() {
            let code = c.data_category_code(id).expect("code").to_string();
            assert_eq!(c.data_category_by_key(&code), Some(id), "{code}");
            assert_eq!(c.data_category_by_key(&code.to_lowercase()), None);
        }
        for id in c.consulting_category_ids() {
            let code = c.consulting_category_code(id).expect("code").to_string();
            assert_eq!(c.consulting_category_by_key(&code), Some(id), "{code}");
            assert_eq!(c.consulting_category_by_key(&format!("{code}\0")), None);
        }
        assert_eq!(c.data_category_by_key(""), None);
        assert_eq!(c.consulting_category_by_key("RPZAC9999999999999999"), None);
    }
}
