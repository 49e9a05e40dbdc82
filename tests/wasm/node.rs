//! wasm-bindgen tests run in Node: the shared suite, plus what only Node
//! has (timers that keep the process alive unless unref'd).
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Waker};

use tokenkeeper::platform::Sleeper;
use tokenkeeper::platform::web::{Timeout, TimerSleeper};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

/// The timers that keep Node's event loop alive.
fn live_timers() -> usize {
    js_sys::Function::new_no_args(
        "return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .as_f64()
    .unwrap() as usize
}

/// A refresh-ahead timer must not keep a Node process alive; a sleep the
/// keeper awaits (a backoff a caller waits for) must.
#[wasm_bindgen_test]
async fn a_timeout_lets_node_exit_and_a_sleep_keeps_it_alive() {
    let before = live_timers();
    let fired = Rc::new(Cell::new(false));
    let f = Rc::clone(&fired);
    let timeout = Timeout::new(20, move || f.set(true));
    assert_eq!(live_timers(), before, "the timeout is unref'd");
    let dropped = Rc::new(Cell::new(false));
    let d = Rc::clone(&dropped);
    drop(Timeout::new(10, move || d.set(true)));
    let mut sleep = std::pin::pin!(TimerSleeper.sleep(60));
    // Polling once arms the sleep's timer.
    let mut cx = Context::from_waker(Waker::noop());
    assert!(sleep.as_mut().poll(&mut cx).is_pending());
    assert_eq!(live_timers(), before + 1, "the sleep keeps the loop alive");
    sleep.await;
    assert!(fired.get(), "the timeout fired");
    assert!(!dropped.get(), "a dropped timeout never fires");
    drop(timeout);
}
