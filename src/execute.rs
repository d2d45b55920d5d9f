//! The walk (DESIGN §1): run each step of a plan once its dependencies are done,
//! independent steps at the same time, at most `concurrency` of those that make
//! the engine work at once, reporting each as events. Generic over the action
//! type and how one is run, so every target walks its plan the same way.

use std::fmt::Display;
use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::plan::Plan;

/// An action the scheduler can walk.
pub trait Work: Display {
    /// Whether it counts against the concurrency bound. Steps that only look (waits)
    /// do not: a service waiting a minute for its database must not hold back the
    /// creates of the rest.
    fn bounded(&self) -> bool;
}

/// How the walk runs.
pub struct Walk<'a> {
    pub concurrency: usize,
    /// Cancelled on Ctrl-C: no new step starts, and the walk returns
    /// `Error::Interrupted` once the steps in flight are done.
    pub interrupt: &'a CancellationToken,
    /// Set on the first failure and on an interrupt: steps that can give up early
    /// (waits, pulls, builds) watch it.
    pub cancel: &'a watch::Sender<bool>,
    pub sink: &'a EventSink,
}

/// Walk `plan`, running each action with `run`. On the first failing step no new
/// step starts, the steps still running finish (or give up, through `cancel`), and
/// the first error is returned.
pub async fn walk<'p, A, F, Fut>(plan: &'p Plan<A>, w: &Walk<'_>, run: F) -> Result<()>
where
    A: Work,
    F: Fn(&'p A) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let sink = w.sink;
    let n = plan.steps.len();
    let mut done = vec![false; n];
    let mut started = vec![false; n];
    let mut running = FuturesUnordered::new();
    let mut stopping = false;
    let bounded = |i: usize| plan.steps[i].action.bounded();
    // Bounded steps now running.
    let mut busy = 0;
    loop {
        for (i, step) in plan.steps.iter().enumerate() {
            if w.interrupt.is_cancelled() {
                break;
            }
            if started[i] || !step.after.iter().all(|d| done[d.0]) {
                continue;
            }
            if bounded(i) {
                if busy >= w.concurrency.max(1) {
                    continue;
                }
                busy += 1;
            }
            started[i] = true;
            let action = &step.action;
            let run = &run;
            running.push(async move {
                let text = action.to_string();
                sink(Event::StepStarted {
                    step: i,
                    text: text.clone(),
                });
                let result = run(action).await;
                (i, text, result)
            });
        }
        let next = tokio::select! {
            next = running.next() => next,
            () = w.interrupt.cancelled(), if !stopping => {
                stopping = true;
                sink(Event::Interrupted);
                w.cancel.send_replace(true);
                continue;
            }
        };
        let Some((i, text, result)) = next else {
            break;
        };
        if bounded(i) {
            busy -= 1;
        }
        match result {
            Ok(()) => {
                done[i] = true;
                sink(Event::StepFinished { step: i, text });
            }
            Err(err) => {
                sink(Event::StepFailed {
                    step: i,
                    text,
                    error: err.to_string(),
                });
                w.cancel.send_replace(true);
                let mut gave_up = vec![false; n];
                while let Some((i, text, result)) = running.next().await {
                    match result {
                        Ok(()) => {
                            done[i] = true;
                            sink(Event::StepFinished { step: i, text });
                        }
                        Err(_) => gave_up[i] = true,
                    }
                }
                // What did not run because of this failure: said once, in plan order.
                let cancelled: Vec<String> = (0..n)
                    .filter(|&j| j != i && (!started[j] || gave_up[j]))
                    .map(|j| plan.steps[j].action.to_string())
                    .collect();
                if !w.interrupt.is_cancelled() {
                    sink(Event::Cancelled { steps: cancelled });
                }
                // What the cancelled steps report is a consequence of the interrupt.
                return Err(if w.interrupt.is_cancelled() {
                    Error::Interrupted
                } else {
                    err
                });
            }
        }
    }
    if w.interrupt.is_cancelled() {
        // The interrupt came as the last step in flight ended: still say so.
        if !stopping {
            sink(Event::Interrupted);
        }
        return Err(Error::Interrupted);
    }
    Ok(())
}
