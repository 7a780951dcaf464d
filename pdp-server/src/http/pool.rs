//! A small pool of store connections for the handlers that write or read the store (consent
//! registration, the PAP). The request path of decisions never uses it.
//!
//! A [`Store`] is one blocking connection, so every call runs on tokio's blocking threads; a
//! semaphore bounds how many run at once (and so how many connections exist), and idle
//! connections are kept for the next request. A connection whose call failed as unavailable is
//! dropped rather than returned, so a store restart heals on the next request.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::pap::PapError;
use crate::store::{self, Store, StoreError, StoreUrl};

/// Connections opened lazily with [`store::open`], at most `max` at a time.
pub struct StorePool {
    url: StoreUrl,
    idle: Mutex<Vec<Box<dyn Store>>>,
    permits: Arc<Semaphore>,
}

/// Errors that can say whether the connection that produced them is still usable.
pub trait ConnectionHealth {
    /// The connection should be dropped, not reused.
    fn connection_broken(&self) -> bool;
}

impl ConnectionHealth for StoreError {
    fn connection_broken(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Database(_))
    }
}

impl ConnectionHealth for PapError {
    fn connection_broken(&self) -> bool {
        match self {
            PapError::Store(e) => e.connection_broken(),
            PapError::Invalid(_) => false,
        }
    }
}

impl StorePool {
    /// A pool for `url` holding at most `max` connections (at least one).
    pub fn new(url: StoreUrl, max: usize) -> StorePool {
        StorePool {
            url,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Hands an already open connection to the pool (the one `serve` opened at start).
    pub fn give(&self, store: Box<dyn Store>) {
        self.idle.lock().push(store);
    }

    /// Runs `f` with a connection on a blocking thread. The outer error is a failure to get a
    /// connection at all (cannot open, or the blocking task died); the inner one is `f`'s.
    pub async fn run<T, E, F>(self: &Arc<Self>, f: F) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: ConnectionHealth + Send + 'static,
        F: FnOnce(&mut dyn Store) -> Result<T, E> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("the server is shutting down".into()))?;
        let pool = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = pool.idle.lock().pop();
            let mut conn = match taken {
                Some(c) => c,
                None => store::open(&pool.url)?,
            };
            let out = f(conn.as_mut());
            let broken = out
                .as_ref()
                .err()
                .is_some_and(ConnectionHealth::connection_broken);
            if !broken {
                pool.idle.lock().push(conn);
            }
            Ok(out)
        })
        .await;
        match joined {
            Ok(r) => r,
            Err(e) => Err(StoreError::Database(format!(
                "the store call did not finish: {e}"
            ))),
        }
    }
}
