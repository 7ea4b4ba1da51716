//! An ordered parallel map with per-thread state: the shape of batch
//! coding, where each worker thread builds its own engine (an engine that
//! holds a llama.cpp model is not `Send`, so it is made and used on one
//! thread; the tables and indexes behind it are shared), records are
//! handed out as workers free up, and results come back in input order
//! whatever the thread count.
//!
//! One reader thread pulls the input, the workers code, and the calling
//! thread puts results back in order and hands them to the sink. At most
//! `window` items are between the reader and the sink at any time, so
//! memory stays flat however long the input is, even when one record takes
//! much longer than its neighbours.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Mutex;

/// How many workers, and how far ahead of the sink the reader may run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub threads: usize,
    /// Items read but not yet handed to the sink, at most.
    pub window: usize,
}

impl Options {
    pub fn threads(threads: usize) -> Options {
        let threads = threads.max(1);
        Options {
            threads,
            window: 16 * threads,
        }
    }
}

/// What the sink receives for each input item, in input order.
#[derive(Debug)]
pub enum Outcome<T, E> {
    /// The worker's result for an item.
    Done(T),
    /// An input item that was an error (passed through, not worked on).
    Unreadable(E),
    /// The worker panicked on this item; its state was rebuilt.
    Panicked(String),
}

/// The work a thread does: build its state once, then process items.
pub trait Worker<I, T>: Sync {
    type State;
    fn start(&self) -> anyhow::Result<Self::State>;
    fn work(&self, state: &mut Self::State, item: I) -> T;
}

/// Feeds `input` to `opts.threads` workers and calls `sink` with each
/// outcome in input order. Reading stops when `cancel` is set (the items
/// already read are finished and handed on); a sink error or a worker that
/// cannot start stops the run and is returned.
pub fn run_ordered<I, E, T, W, S>(
    input: impl Iterator<Item = Result<I, E>> + Send,
    opts: Options,
    worker: &W,
    cancel: &AtomicBool,
    mut sink: S,
) -> anyhow::Result<()>
where
    I: Send,
    E: Send,
    T: Send,
    W: Worker<I, T>,
    S: FnMut(Outcome<T, E>) -> anyhow::Result<()>,
{
    let threads = opts.threads.max(1);
    let window = opts.window.max(threads);
    enum Msg<T, E> {
        Item(usize, Outcome<T, E>),
        StartFailed(anyhow::Error),
    }
    // Room for every item in flight: the reader never blocks on a send,
    // only on a credit.
    let (work_tx, work_rx) = sync_channel::<(usize, I)>(window);
    let work_rx = Mutex::new(work_rx);
    let (out_tx, out_rx) = channel::<Msg<T, E>>();
    // One credit per item between the reader and the sink.
    let (credit_tx, credit_rx) = sync_channel::<()>(window);
    for _ in 0..window {
        let _ = credit_tx.send(());
    }
    let work_rx = &work_rx;
    std::thread::scope(move |scope| {
        for _ in 0..threads {
            let out_tx = out_tx.clone();
            scope.spawn(move || {
                let mut state = match worker.start() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = out_tx.send(Msg::StartFailed(e));
                        return;
                    }
                };
                loop {
                    let next = work_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, item)) = next else { break };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        worker.work(&mut state, item)
                    }));
                    let outcome = match result {
                        Ok(t) => Outcome::Done(t),
                        Err(p) => {
                            // The state may be half-updated: start afresh.
                            match worker.start() {
                                Ok(s) => state = s,
                                Err(e) => {
                                    let _ = out_tx.send(Msg::StartFailed(e));
                                    return;
                                }
                            }
                            Outcome::Panicked(panic_text(&p))
                        }
                    };
                    if out_tx.send(Msg::Item(seq, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        let reader_out = out_tx.clone();
        drop(out_tx);
        scope.spawn(move || {
            for (seq, item) in input.enumerate() {
                if cancel.load(Ordering::Relaxed) || credit_rx.recv().is_err() {
                    break;
                }
                let sent = match item {
                    Ok(i) => work_tx.send((seq, i)).is_ok(),
                    Err(e) => reader_out
                        .send(Msg::Item(seq, Outcome::Unreadable(e)))
                        .is_ok(),
                };
                if !sent {
                    break;
                }
            }
            // Dropping work_tx ends the workers once the queue is empty.
        });
        // Owning the receiving ends here: returning early drops them, which
        // stops the reader and the workers.
        let (out_rx, credit_tx) = (out_rx, credit_tx);
        let mut next = 0usize;
        let mut waiting: BTreeMap<usize, Outcome<T, E>> = BTreeMap::new();
        for msg in out_rx.iter() {
            match msg {
                Msg::StartFailed(e) => return Err(e),
                Msg::Item(seq, outcome) => {
                    waiting.insert(seq, outcome);
                }
            }
            while let Some(outcome) = waiting.remove(&next) {
                sink(outcome)?;
                next += 1;
                let _ = credit_tx.send(());
            }
        }
        Ok(())
    })
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// Squares numbers; sleeps longer on some so that workers finish out
    /// of order; panics on 13.
    struct Squares {
        started: AtomicUsize,
    }

    impl Worker<u64, (u64, std::thread::ThreadId)> for Squares {
        type State = Vec<u64>;
        fn start(&self) -> anyhow::Result<Vec<u64>> {
            self.started.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
        fn work(&self, seen: &mut Vec<u64>, n: u64) -> (u64, std::thread::ThreadId) {
            assert!(n != 13, "unlucky");
            if n.is_multiple_of(7) {
                std::thread::sleep(Duration::from_millis(5));
            }
            seen.push(n);
            (n * n, std::thread::current().id())
        }
    }

    #[test]
    fn results_come_in_input_order_from_several_threads() {
        let w = Squares {
            started: AtomicUsize::new(0),
        };
        let input = (0..200u64).map(|n| if n == 50 { Err("bad") } else { Ok(n) });
        let mut got = Vec::new();
        let mut threads = std::collections::HashSet::new();
        let cancel = AtomicBool::new(false);
        run_ordered(input, Options::threads(3), &w, &cancel, |o| {
            match o {
                Outcome::Done((sq, t)) => {
                    got.push(Some(sq));
                    threads.insert(t);
                }
                Outcome::Unreadable(e) => {
                    assert_eq!(e, "bad");
                    got.push(None);
                }
                Outcome::Panicked(msg) => {
                    assert!(msg.contains("unlucky"));
                    got.push(Some(0));
                }
            }
            Ok(())
        })
        .unwrap();
        let want: Vec<Option<u64>> = (0..200u64)
            .map(|n| match n {
                50 => None,
                13 => Some(0),
                n => Some(n * n),
            })
            .collect();
        assert_eq!(got, want);
        assert!(threads.len() > 1, "work was shared");
        // three workers plus one restart after the panic
        assert_eq!(w.started.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn sink_error_and_cancel_stop_the_run() {
        let w = Squares {
            started: AtomicUsize::new(0),
        };
        let cancel = AtomicBool::new(false);
        let mut n = 0;
        let r = run_ordered(
            (0..1_000_000u64).map(Ok::<_, ()>),
            Options::threads(2),
            &w,
            &cancel,
            |_| {
                n += 1;
                if n == 10 {
                    anyhow::bail!("disk full")
                }
                Ok(())
            },
        );
        assert_eq!(r.unwrap_err().to_string(), "disk full");
        let cancel = AtomicBool::new(false);
        let mut seen = 0;
        run_ordered(
            (0..1_000_000u64).map(Ok::<_, ()>),
            Options::threads(2),
            &w,
            &cancel,
            |_| {
                seen += 1;
                if seen == 5 {
                    cancel.store(true, Ordering::SeqCst);
                }
                Ok(())
            },
        )
        .unwrap();
        let window = Options::threads(2).window;
        assert!(
            seen >= 5 && seen <= 5 + window,
            "stopped within one window: {seen}"
        );
    }
}
