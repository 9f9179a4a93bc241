//! One password check at a time per username and per address, in this process. Without it,
//! every attempt that arrives while the first is being verified passes the throttle check
//! before any failure is recorded: one address would get hundreds of guesses per window and
//! fill the hashing queue in front of the real admin. Taken in turn, each attempt sees the ones
//! before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Mutex as TurnLock, OwnedMutexGuard};

#[derive(Debug, Clone, Default)]
pub struct LoginTurns {
    locks: Arc<Mutex<HashMap<String, Arc<TurnLock<()>>>>>,
}

/// Held while one attempt is checked, counted and verified.
pub struct Turn {
    _held: Vec<OwnedMutexGuard<()>>,
    turns: LoginTurns,
    keys: Vec<String>,
}

impl LoginTurns {
    /// Waits for the turn of this username and this address (always in that order, so two
    /// attempts never wait for each other).
    pub async fn take(&self, username: &str, address: &str) -> Turn {
        let keys = vec![format!("user\n{username}"), format!("addr\n{address}")];
        let mut held = Vec::with_capacity(keys.len());
        for key in &keys {
            let lock = self.lock_for(key);
            held.push(lock.lock_owned().await);
        }
        Turn {
            _held: held,
            turns: self.clone(),
            keys,
        }
    }

    fn lock_for(&self, key: &str) -> Arc<TurnLock<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(key.to_owned()).or_default().clone()
    }

    /// How many keys are held or waited for (for tests: none once every attempt is done).
    pub fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Release the guards first, then forget locks nobody else holds or waits for.
        self._held.clear();
        let mut locks = self.turns.locks.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if locks
                .get(key)
                .is_some_and(|lock| Arc::strong_count(lock) == 1)
            {
                locks.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn attempts_for_one_address_take_turns_and_others_do_not_wait() {
        let turns = LoginTurns::default();
        let first = turns.take("alice", "203.0.113.7").await;
        let same_address =
            tokio::time::timeout(Duration::from_millis(50), turns.take("bob", "203.0.113.7")).await;
        assert!(same_address.is_err(), "the address's second attempt waits");
        let same_user = tokio::time::timeout(
            Duration::from_millis(50),
            turns.take("alice", "198.51.100.1"),
        )
        .await;
        assert!(same_user.is_err(), "the username's second attempt waits");
        let other = tokio::time::timeout(
            Duration::from_millis(50),
            turns.take("carol", "198.51.100.2"),
        )
        .await;
        assert!(other.is_ok(), "an unrelated attempt does not wait");
        drop(other);
        drop(first);
        let next =
            tokio::time::timeout(Duration::from_millis(500), turns.take("bob", "203.0.113.7"))
                .await;
        assert!(next.is_ok(), "the turn passes on");
        drop(next);
        assert!(turns.is_empty(), "no lock is kept once nobody needs it");
    }
}
