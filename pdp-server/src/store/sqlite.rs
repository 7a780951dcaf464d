//! SQLite store (embedded default). Being written.
use super::*;
pub struct SqliteStore;
impl SqliteStore {
    pub fn open(_path: &std::path::Path) -> Result<SqliteStore, StoreError> {
        Err(StoreError::Schema("not yet built".into()))
    }
}
fn nb<T>() -> Result<T, StoreError> {
    Err(StoreError::Schema("not yet built".into()))
}
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }
    fn write_consents(
        &mut self,
        _: &[ConsentChange],
        _: &Catalogue,
        _: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        nb()
    }
    fn import_batch(
        &mut self,
        _: &[ConsentRecord],
        _: &Catalogue,
        _: &ImportProgress,
        _: &ChangeMeta,
    ) -> Result<WriteOutcome, StoreError> {
        nb()
    }
    fn import_lines_done(&mut self, _: &str) -> Result<u64, StoreError> {
        nb()
    }
    fn put_policy(&mut self, _: &str, _: &str, _: bool, _: &ChangeMeta) -> Result<i64, StoreError> {
        nb()
    }
    fn activate_policy(&mut self, _: &str, _: i64, _: &ChangeMeta) -> Result<(), StoreError> {
        nb()
    }
    fn policies(&mut self, _: bool) -> Result<Vec<StoredPolicy>, StoreError> {
        nb()
    }
    fn policy(&mut self, _: &str, _: i64) -> Result<Option<StoredPolicy>, StoreError> {
        nb()
    }
    fn active_policies(&mut self) -> Result<Vec<StoredPolicy>, StoreError> {
        nb()
    }
    fn load_all(
        &mut self,
        _: &Catalogue,
        _: &mut RowSink<'_>,
        _: &mut dyn FnMut(u64),
    ) -> Result<FullLoad, StoreError> {
        nb()
    }
    fn changes_since(
        &mut self,
        _: &Position,
        _: &Catalogue,
        _: usize,
    ) -> Result<ChangeBatch, StoreError> {
        nb()
    }
    fn wait_for_change(&mut self, _: Duration) -> Result<bool, StoreError> {
        nb()
    }
    fn head_seq(&mut self) -> Result<i64, StoreError> {
        nb()
    }
    fn record_progress(&mut self, _: &str, _: &Position) -> Result<(), StoreError> {
        nb()
    }
    fn consent_count(&mut self) -> Result<u64, StoreError> {
        nb()
    }
}
