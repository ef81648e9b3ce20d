//! A pool of ONNX Runtime sessions of one model. ort 2.0.0-rc.15's `Session::run` takes `&mut self`, so concurrent
//! callers each borrow their own session; sessions are created on demand, up to a limit, then callers wait.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};

use ort::session::Session;

pub(crate) struct SessionPool {
    state: Mutex<PoolState>,
    returned: Condvar,
    max_sessions: usize,
}

struct PoolState {
    idle: Vec<Session>,
    created: usize,
}

impl SessionPool {
    /// A pool holding `first` and allowed to grow to `max_sessions` (at least 1).
    pub(crate) fn new(first: Session, max_sessions: usize) -> Self {
        SessionPool {
            state: Mutex::new(PoolState { idle: vec![first], created: 1 }),
            returned: Condvar::new(),
            max_sessions: max_sessions.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A panic while holding the lock cannot leave the list inconsistent (push/pop only): keep going.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Borrows an idle session, creates one with `create` if the pool may grow, or waits for one to come back.
    pub(crate) fn acquire<E>(&self, create: impl FnOnce() -> Result<Session, E>) -> Result<PooledSession<'_>, E> {
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(PooledSession { pool: self, session: Some(session) });
            }
            if state.created < self.max_sessions {
                state.created += 1;
                drop(state);
                return match create() {
                    Ok(session) => Ok(PooledSession { pool: self, session: Some(session) }),
                    Err(error) => {
                        self.lock().created -= 1;
                        Err(error)
                    }
                };
            }
            state = self.returned.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Takes every idle session out (for ending profiling); busy ones are not waited for.
    pub(crate) fn drain_idle(&self) -> Vec<Session> {
        let mut state = self.lock();
        state.created -= state.idle.len();
        std::mem::take(&mut state.idle)
    }

    /// How many sessions exist now (idle or borrowed).
    pub(crate) fn created(&self) -> usize {
        self.lock().created
    }

    fn give_back(&self, session: Session) {
        self.lock().idle.push(session);
        self.returned.notify_one();
    }
}

/// A borrowed session; goes back to its pool when dropped.
pub(crate) struct PooledSession<'p> {
    pool: &'p SessionPool,
    session: Option<Session>,
}

impl Deref for PooledSession<'_> {
    type Target = Session;

    fn deref(&self) -> &Session {
        // Invariant: `session` is `Some` until `drop`.
        self.session.as_ref().unwrap_or_else(|| unreachable!("pooled session used after drop"))
    }
}

impl DerefMut for PooledSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().unwrap_or_else(|| unreachable!("pooled session used after drop"))
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.give_back(session);
        }
    }
}
