//! A listener through its door alone.

use super::*;

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn r(i: u32) -> Request {
    Request {
        client: t(i),
        seq: 7,
    }
}

#[test]
fn requests_wait_in_arrival_order_when_no_server_is_idle() {
    let mut l = Listener::default();
    assert_eq!(l.arrive(r(1), |_| true), None);
    assert_eq!(l.arrive(r(2), |_| true), None);
    assert_eq!(l.peak_backlog(), 2);
    assert_eq!(
        [l.accept(), l.accept(), l.accept()],
        [Some(r(1)), Some(r(2)), None]
    );
    assert_eq!(l.accepted(), 2);
}

#[test]
fn an_arriving_request_goes_to_the_longest_idle_server_that_still_waits() {
    let mut l = Listener::default();
    l.wait(t(10));
    l.wait(t(11));
    l.wait(t(12));
    assert_eq!(l.arrive(r(1), |s| s != t(10)), Some(t(11)));
    assert_eq!(l.arrive(r(2), |_| true), Some(t(12)));
    assert_eq!(
        l.arrive(r(3), |_| true),
        None,
        "no idle server left: it waits"
    );
    assert_eq!(l.peak_backlog(), 1);
    assert_eq!(l.accept(), Some(r(3)));
    assert_eq!(l.accepted(), 3);
}
