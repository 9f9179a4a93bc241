//! Session ids never reach the database in plain text: every row is keyed by a SHA-256 digest of
//! the id, so someone who reads the sessions table (a backup, a replica, a SQL injection
//! elsewhere) cannot take over a session with what they read.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Result, SessionStore};

/// Wraps a store so that it only ever sees hashed session ids.
#[derive(Debug, Clone)]
pub struct HashedIds<S>(pub S);

/// The id a session is stored under: the first 128 bits of SHA-256 over the cookie's id.
pub fn stored_id(id: &Id) -> Id {
    let digest = Sha256::digest(id.0.to_le_bytes());
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    Id(i128::from_le_bytes(first))
}

fn stored(record: &Record) -> Record {
    Record {
        id: stored_id(&record.id),
        ..record.clone()
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for HashedIds<S> {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A new id that collides with a stored one (after hashing) is drawn again.
        loop {
            let row = stored(record);
            if self.0.load(&row.id).await?.is_none() {
                return self.0.save(&row).await;
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.0.save(&stored(record)).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        Ok(self.0.load(&stored_id(id)).await?.map(|mut record| {
            record.id = *id;
            record
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.0.delete(&stored_id(id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;
    use tower_sessions::cookie::time::OffsetDateTime;

    /// Records what the wrapped store was given, in memory.
    #[derive(Debug, Default)]
    struct Rows(Mutex<HashMap<Id, Record>>);

    #[async_trait]
    impl SessionStore for Rows {
        async fn save(&self, record: &Record) -> Result<()> {
            self.0.lock().unwrap().insert(record.id, record.clone());
            Ok(())
        }
        async fn load(&self, id: &Id) -> Result<Option<Record>> {
            Ok(self.0.lock().unwrap().get(id).cloned())
        }
        async fn delete(&self, id: &Id) -> Result<()> {
            self.0.lock().unwrap().remove(id);
            Ok(())
        }
    }

    fn record(id: i128) -> Record {
        Record {
            id: Id(id),
            data: HashMap::new(),
            expiry_date: OffsetDateTime::now_utc(),
        }
    }

    #[tokio::test]
    async fn the_inner_store_never_sees_the_cookie_id() {
        let store = HashedIds(Rows::default());
        let mut created = record(42);
        store.create(&mut created).await.unwrap();
        let keys: Vec<Id> = store.0 .0.lock().unwrap().keys().copied().collect();
        assert_eq!(keys, vec![stored_id(&created.id)]);
        assert_ne!(keys[0], created.id);

        let loaded = store
            .load(&created.id)
            .await
            .unwrap()
            .expect("found by the cookie id");
        assert_eq!(loaded.id, created.id, "callers get their own id back");
        assert!(
            store.load(&keys[0]).await.unwrap().is_none(),
            "the stored key is not a usable session id"
        );

        store.delete(&created.id).await.unwrap();
        assert!(store.0 .0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_colliding_new_id_is_drawn_again() {
        let store = HashedIds(Rows::default());
        let mut first = record(7);
        store.create(&mut first).await.unwrap();
        let mut second = record(7);
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, Id(7));
        assert_eq!(store.0 .0.lock().unwrap().len(), 2);
    }
}
