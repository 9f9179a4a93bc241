//! argon2id hashing off the async threads. Hashing is deliberately slow and memory-hungry
//! (19 MiB each), so it runs on its own threads, one per CPU, behind a semaphore of the same size:
//! a login storm queues instead of exhausting memory. The threads run at a lower scheduling
//! priority (nice 10), so when the CPUs are busy, pages and deliveries go first and logins wait:
//! at the same priority 20 logins a second doubled the admin pages' p99 (BENCHMARKS.md, P4).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::{oneshot, OnceCell, Semaphore};

#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing threads stopped unexpectedly")]
    Stopped,
    /// More checks are waiting than the hashing threads can get to soon: try again shortly.
    #[error("too many password checks are waiting")]
    Busy,
}

#[derive(Clone, Debug)]
pub struct PasswordService {
    permits: Arc<Semaphore>,
    hashers: Hashers,
    /// A real hash of a random password, verified for unknown usernames so that a login for a
    /// name that does not exist takes as long as one that does.
    dummy_hash: Arc<OnceCell<String>>,
    /// Hashes and checks waiting for a hashing thread or running on one.
    queued: Arc<AtomicUsize>,
    /// Beyond this many queued, a new one is refused ([`PasswordHashError::Busy`]).
    queue_limit: usize,
    /// Password checks run so far (argon2 verifies, the dummy ones included).
    verifies: Arc<AtomicU64>,
}

/// Queued hashes per hashing thread before new ones are refused: at about 50 ms a hash, a
/// queue this long is a couple of seconds' wait.
const QUEUE_PER_THREAD: usize = 32;

impl Default for PasswordService {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_limits(cpus, cpus * QUEUE_PER_THREAD)
    }
}

/// A place in the hashing queue, given back when dropped.
struct Queued(Arc<AtomicUsize>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads. They end when the last clone of the service is dropped.
#[derive(Clone, Debug)]
struct Hashers {
    jobs: mpsc::Sender<Job>,
}

/// Scheduling priority of the hashing threads (the kernel's nice value; 0 is the default).
const HASHING_NICE: i32 = 10;

impl Hashers {
    fn start(threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("affdesk-argon2-{i}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "cannot start a password hashing thread");
            }
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordHashError> {
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| PasswordHashError::Stopped)?;
        result.await.map_err(|_| PasswordHashError::Stopped)
    }
}

fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; on Linux a thread id names just that thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, HASHING_NICE) != 0 {
            tracing::warn!("cannot lower the password hashing threads' priority");
        }
    }
}

/// OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("argon2 parameters are valid constants");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, PasswordHashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordHashError::Hash(e.to_string()))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl PasswordService {
    /// `threads` hashing threads, refusing new work while `queue_limit` are queued.
    pub fn with_limits(threads: usize, queue_limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            hashers: Hashers::start(threads),
            dummy_hash: Arc::new(OnceCell::new()),
            queued: Arc::new(AtomicUsize::new(0)),
            queue_limit: queue_limit.max(1),
            verifies: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many password checks have run (for tests and metrics).
    pub fn verifies(&self) -> u64 {
        self.verifies.load(Ordering::SeqCst)
    }

    /// A place in the queue, or `Busy` when it is full.
    fn enqueue(&self) -> Result<Queued, PasswordHashError> {
        let ahead = self.queued.fetch_add(1, Ordering::SeqCst);
        let place = Queued(self.queued.clone());
        if ahead >= self.queue_limit {
            return Err(PasswordHashError::Busy);
        }
        Ok(place)
    }

    pub async fn hash(&self, password: &str) -> Result<String, PasswordHashError> {
        let _place = self.enqueue()?;
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let password = SecretString::from(password.to_owned());
        self.hashers
            .run(move || hash_blocking(password.expose_secret()))
            .await?
    }

    /// Checks `password` against `hash`; with no hash (unknown user) it verifies against a dummy
    /// so the answer takes the same time, and returns false.
    pub async fn verify(
        &self,
        password: &str,
        hash: Option<&str>,
    ) -> Result<bool, PasswordHashError> {
        let (hash, known) = match hash {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash().await?, false),
        };
        let _place = self.enqueue()?;
        self.verifies.fetch_add(1, Ordering::SeqCst);
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let password = SecretString::from(password.to_owned());
        let ok = self
            .hashers
            .run(move || verify_blocking(password.expose_secret(), &hash))
            .await?;
        Ok(ok && known)
    }

    async fn dummy_hash(&self) -> Result<String, PasswordHashError> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let random = crate::server::security::tokens::random_token(24);
                self.hash(&random).await
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_a_lower_priority() {
        let service = PasswordService::default();
        // SAFETY: reads the calling (hashing) thread's own nice value.
        let nice = service
            .hashers
            .run(|| unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::getpriority(libc::PRIO_PROCESS, tid)
            })
            .await
            .unwrap();
        assert!(nice >= HASHING_NICE, "nice {nice}");
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let service = PasswordService::default();
        let hash = service.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(service
            .verify("correct horse battery", Some(&hash))
            .await
            .unwrap());
        assert!(!service
            .verify("wrong horse battery", Some(&hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_full_queue_refuses_new_work_until_it_drains() {
        let service = PasswordService::with_limits(1, 2);
        let hash = service.hash("correct horse battery").await.unwrap();
        let checks: Vec<_> = (0..6)
            .map(|_| {
                let (service, hash) = (service.clone(), hash.clone());
                tokio::spawn(async move { service.verify("wrong", Some(&hash)).await })
            })
            .collect();
        let mut busy = 0;
        for check in checks {
            match check.await.unwrap() {
                Ok(ok) => assert!(!ok),
                Err(PasswordHashError::Busy) => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(busy >= 1, "some of six checks at once were refused");
        assert_eq!(service.verifies(), (6 - busy) as u64);
        assert!(
            !service.verify("wrong", Some(&hash)).await.unwrap(),
            "drained"
        );
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let service = PasswordService::default();
        assert!(!service.verify("anything at all", None).await.unwrap());
        assert!(!service.verify("x", Some("not a hash")).await.unwrap());
    }
}
