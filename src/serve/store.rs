//! The watched store: the listed kinds of `serve`, kept current by watches, standing where the
//! one-shot [`Lister`](crate::audit::gather::Lister) stands in the one gather
//! ([`ListedKinds`]).
//!
//! Per kind the selected rules read: one paginated LIST (the one-shot audit's
//! [`live::list_versioned`], so objects are kept by the interest and pruned to their kind's view
//! exactly as a `check` keeps them), then a WATCH from the list's resourceVersion with bookmarks,
//! opened again from the last version seen whenever it ends (server timeout, broken
//! connection), and a new LIST after a `410 Gone` (the version was compacted away), with
//! exponential backoff and jitter. A kind that cannot be listed (forbidden, CRD absent, server
//! error) keeps that fact and is listed again with backoff.

use crate::audit::gather::ListedKinds;
use crate::collect::kube::watch::{self, Change, ObjectKey, WatchFailed};
use crate::collect::kube::{self as live, LiveOptions};
use ::kube::Client;
use futures::StreamExt;
use futures::future::BoxFuture;
use gpu_preflight_checks::facts::KindFact;
use gpu_preflight_checks::interest::Interest;
use gpu_preflight_checks::kinds::ResourceKind;
use gpu_preflight_checks::object::Object;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long the server keeps a watch open before ending it (it is opened again at once).
const WATCH_SECONDS: u64 = 290;
/// The watch client's read timeout: longer than the server keeps a watch open.
pub const WATCH_READ_TIMEOUT: Duration = Duration::from_secs(WATCH_SECONDS + 30);
/// Backoff between failed lists or watches: from the first to the cap, doubling, jittered.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(60);

/// The listed kinds, kept current.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    kinds: Mutex<BTreeMap<&'static str, KindState>>,
    /// Bumped on every change an audit would see (an object put or gone, a kind relisted).
    changed: tokio::sync::watch::Sender<u64>,
    /// Watch events applied, and the time spent applying them (nanoseconds).
    events: AtomicU64,
    event_nanos: AtomicU64,
}

/// One kind's state.
struct KindState {
    /// The objects, in the API server's order (namespace, name); `None` until the first list
    /// answered, or while the kind cannot be listed (`unusable` says why).
    objects: Option<BTreeMap<ObjectKey, Object>>,
    unusable: Option<KindFact>,
    /// Requests of the last list.
    pages: u32,
    /// Watches opened again (ended, broken, expired) and lists retried.
    restarts: u64,
}

/// What the store shows of one kind, for metrics.
#[derive(Debug, Clone)]
pub struct KindHealth {
    pub kind: &'static str,
    pub objects: usize,
    pub restarts: u64,
    /// Listed and not failing.
    pub synced: bool,
    /// Why the kind cannot be listed, when it cannot.
    pub problem: Option<String>,
}

impl Store {
    /// Starts the list and watch of each kind on the current runtime. `client` makes the
    /// lists; `watch_client` the watches (a read timeout longer than the server's watch
    /// timeout). [`Store::ready`] says when every kind has had its first answer.
    pub fn start(
        client: &Client,
        watch_client: &Client,
        kinds: &[&'static ResourceKind],
        opts: &LiveOptions,
        interest: &Interest,
    ) -> Store {
        let shared = Arc::new(Shared {
            kinds: Mutex::new(
                kinds
                    .iter()
                    .map(|k| {
                        let s = KindState {
                            objects: None,
                            unusable: None,
                            pages: 0,
                            restarts: 0,
                        };
                        (k.key, s)
                    })
                    .collect(),
            ),
            changed: tokio::sync::watch::channel(0).0,
            events: AtomicU64::new(0),
            event_nanos: AtomicU64::new(0),
        });
        for kind in kinds {
            let k = Keeper {
                client: client.clone(),
                watch_client: watch_client.clone(),
                kind,
                opts: opts.clone(),
                interest: interest.clone(),
                shared: shared.clone(),
            };
            tokio::spawn(k.run());
        }
        Store { shared }
    }

    /// Every kind has had its first list answered (listed, or known unusable).
    pub fn ready(&self) -> bool {
        lock(&self.shared.kinds)
            .values()
            .all(|k| k.objects.is_some() || k.unusable.is_some())
    }

    /// A receiver that changes whenever an object an audit reads changes.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Each kind's size and health.
    pub fn health(&self) -> Vec<KindHealth> {
        lock(&self.shared.kinds)
            .iter()
            .map(|(kind, s)| KindHealth {
                kind,
                objects: s.objects.as_ref().map_or(0, BTreeMap::len),
                restarts: s.restarts,
                synced: s.objects.is_some() && s.unusable.is_none(),
                problem: s.unusable.as_ref().map(|f| match f {
                    KindFact::Absent { reason }
                    | KindFact::Forbidden { reason }
                    | KindFact::Failed { reason } => reason.clone(),
                    KindFact::Listed { .. } => String::new(),
                }),
            })
            .collect()
    }

    /// Watch events applied so far, and the time spent applying them.
    pub fn event_cost(&self) -> (u64, Duration) {
        let n = self.shared.events.load(Ordering::Relaxed);
        let nanos = self.shared.event_nanos.load(Ordering::Relaxed);
        (n, Duration::from_nanos(nanos))
    }

    /// The fact of one kind as an audit reads it now.
    fn fact(&self, key: &str) -> KindFact {
        let kinds = lock(&self.shared.kinds);
        let Some(s) = kinds.get(key) else {
            return KindFact::Failed {
                reason: "not watched by this server (a rule reads a kind it did not start with)"
                    .to_string(),
            };
        };
        if let Some(f) = &s.unusable {
            return f.clone();
        }
        match &s.objects {
            Some(objects) => KindFact::Listed {
                items: objects.values().cloned().collect(),
                pages: s.pages,
                read: None,
            },
            None => KindFact::Failed {
                reason: "still being listed".to_string(),
            },
        }
    }
}

impl ListedKinds for Store {
    fn list(
        &self,
        kind: &'static ResourceKind,
        _interest: &Interest,
    ) -> BoxFuture<'static, KindFact> {
        // The store was started with the interest of the same rules.
        let fact = self.fact(kind.key);
        Box::pin(async move { fact })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves whole values (every update is one assignment).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The task keeping one kind.
struct Keeper {
    client: Client,
    watch_client: Client,
    kind: &'static ResourceKind,
    opts: LiveOptions,
    interest: Interest,
    shared: Arc<Shared>,
}

impl Keeper {
    async fn run(self) {
        let mut backoff = Backoff::new();
        loop {
            let (fact, version) =
                live::list_versioned(&self.client, self.kind, &self.opts, &self.interest).await;
            let version = match (fact, version) {
                (
                    KindFact::Listed {
                        items,
                        pages,
                        read: _,
                    },
                    Some(v),
                ) => {
                    self.listed(items, pages);
                    v
                }
                (KindFact::Listed { .. }, None) => {
                    self.unusable(KindFact::Failed {
                        reason: "the list response has no resourceVersion to watch from"
                            .to_string(),
                    });
                    backoff.wait().await;
                    continue;
                }
                (fact, _) => {
                    tracing::info!(kind = self.kind.key, "cannot be listed; trying again later");
                    self.unusable(fact);
                    backoff.wait().await;
                    continue;
                }
            };
            backoff.reset();
            // Watches from the version reached, until the server says it is too old.
            let mut version = version;
            loop {
                let opened = watch::watch(
                    &self.watch_client,
                    self.kind,
                    &version,
                    WATCH_SECONDS,
                    &self.opts,
                    &self.interest,
                )
                .await;
                let stream = match opened {
                    Ok(s) => s,
                    Err(WatchFailed::Expired(why)) => {
                        tracing::info!(kind = self.kind.key, why, "watch expired: listing again");
                        break;
                    }
                    Err(WatchFailed::Other(why)) => {
                        tracing::warn!(kind = self.kind.key, why, "watch failed");
                        self.restarted();
                        backoff.wait().await;
                        continue;
                    }
                };
                let mut stream = std::pin::pin!(stream);
                let mut expired = false;
                let mut failed = false;
                while let Some(change) = stream.next().await {
                    match change {
                        Change::Bookmark(v) => version = v,
                        Change::Put(..) | Change::Gone(..) => self.apply(change, &mut version),
                        Change::Expired(why) => {
                            tracing::info!(kind = self.kind.key, why, "watch expired");
                            expired = true;
                            break;
                        }
                        Change::Error(why) => {
                            tracing::warn!(kind = self.kind.key, why, "watch error");
                            failed = true;
                            break;
                        }
                    }
                }
                self.restarted();
                if expired {
                    break;
                }
                if failed {
                    backoff.wait().await;
                } else {
                    backoff.reset();
                }
            }
            // 410 Gone: list again, after a jittered pause so that every replica and kind do
            // not relist at once.
            backoff.wait().await;
        }
    }

    fn listed(&self, items: Vec<Object>, pages: u32) {
        let objects: BTreeMap<ObjectKey, Object> = items
            .into_iter()
            .map(|o| (watch::key_of(&o.0), o))
            .collect();
        let changed = {
            let mut kinds = lock(&self.shared.kinds);
            match kinds.get_mut(self.kind.key) {
                Some(s) => {
                    // A list again (after a 410) that finds what the store had changes nothing.
                    let changed = s.unusable.is_some() || s.objects.as_ref() != Some(&objects);
                    s.objects = Some(objects);
                    s.unusable = None;
                    s.pages = pages;
                    changed
                }
                None => false,
            }
        };
        if changed {
            self.shared.changed.send_modify(|g| *g += 1);
        }
    }

    fn unusable(&self, fact: KindFact) {
        let changed = {
            let mut kinds = lock(&self.shared.kinds);
            match kinds.get_mut(self.kind.key) {
                Some(s) => {
                    // Each retry that fails the same way is not a change to audit.
                    let changed = s.unusable.as_ref() != Some(&fact);
                    s.restarts += u64::from(s.objects.is_some() || s.unusable.is_some());
                    s.unusable = Some(fact);
                    changed
                }
                None => false,
            }
        };
        if changed {
            self.shared.changed.send_modify(|g| *g += 1);
        }
    }

    fn restarted(&self) {
        if let Some(s) = lock(&self.shared.kinds).get_mut(self.kind.key) {
            s.restarts += 1;
        }
    }

    /// One object put or gone; the version it carries becomes the one to resume from.
    fn apply(&self, change: Change, version: &mut String) {
        let started = Instant::now();
        let changed = {
            let mut kinds = lock(&self.shared.kinds);
            let Some(objects) = kinds
                .get_mut(self.kind.key)
                .and_then(|s| s.objects.as_mut())
            else {
                return;
            };
            let (changed, seen) = match change {
                Change::Put(key, object, seen) => {
                    // A change outside the view (a pod's status heartbeat) changes no verdict.
                    let same = objects.get(&key).is_some_and(|o| o.0 == object.0);
                    objects.insert(key, object);
                    (!same, seen)
                }
                Change::Gone(key, seen) => (objects.remove(&key).is_some(), seen),
                _ => (false, None),
            };
            if let Some(v) = seen {
                *version = v;
            }
            changed
        };
        if changed {
            self.shared.changed.send_modify(|g| *g += 1);
        }
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.shared.events.fetch_add(1, Ordering::Relaxed);
        self.shared.event_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Exponential backoff with full jitter: each wait is uniform in [cap/2, cap] of the current
/// step, so kinds and replicas spread out.
struct Backoff {
    step: Duration,
    seed: u64,
}

impl Backoff {
    fn new() -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(std::process::id());
        Backoff {
            step: BACKOFF_FIRST,
            seed: seed | 1,
        }
    }

    fn reset(&mut self) {
        self.step = BACKOFF_FIRST;
    }

    async fn wait(&mut self) {
        let half = self.step / 2;
        let jitter = half.mul_f64(unit(&mut self.seed));
        tokio::time::sleep(half + jitter).await;
        self.step = (self.step * 2).min(BACKOFF_CAP);
    }
}

/// A number in [0, 1) from a xorshift state: jitter, not cryptography.
pub fn unit(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}
