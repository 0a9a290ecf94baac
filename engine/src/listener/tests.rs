//! A listener through its door alone.
use crate::time::SimTime;

use super::*;

fn t(i: u32) -> ThreadId {
    ThreadId(i)
}

fn r(i: u32) -> Request {
    Request::Client {
        client: t(i),
        seq: 7,
    }
}

fn from_source(slot: u32) -> Request {
    Request::Source {
        source: SourceId(0),
        slot,
    }
}

#[test]
fn requests_wait_in_arrival_order_when_no_server_is_idle() {
    let mut l = Listener::default();
    assert_eq!(
        l.arrive(SimTime::ZERO, r(1), None, |_| true),
        Arrival::Queued
    );
    assert_eq!(
        l.arrive(SimTime::ZERO, r(2), None, |_| true),
        Arrival::Queued
    );
    assert_eq!(l.peak_backlog(), 2);
    assert_eq!(
        [
            l.accept(SimTime::ZERO),
            l.accept(SimTime::ZERO),
            l.accept(SimTime::ZERO)
        ],
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
    assert_eq!(
        l.arrive(SimTime::ZERO, r(1), None, |s| s != t(10)),
        Arrival::Taken(t(11))
    );
    assert_eq!(
        l.arrive(SimTime::ZERO, r(2), None, |_| true),
        Arrival::Taken(t(12))
    );
    assert_eq!(
        l.arrive(SimTime::ZERO, r(3), None, |_| true),
        Arrival::Queued,
        "no idle server left: it waits"
    );
    assert_eq!(l.peak_backlog(), 1);
    assert_eq!(l.accept(SimTime::ZERO), Some(r(3)));
    assert_eq!(l.accepted(), 3);
}

#[test]
fn a_full_backlog_refuses_a_sources_request_but_a_client_still_waits() {
    let mut l = Listener::default();
    assert_eq!(
        l.arrive(SimTime::ZERO, from_source(0), Some(2), |_| true),
        Arrival::Queued
    );
    assert_eq!(
        l.arrive(SimTime::ZERO, from_source(1), Some(2), |_| true),
        Arrival::Queued
    );
    assert_eq!(
        l.arrive(SimTime::ZERO, from_source(2), Some(2), |_| true),
        Arrival::Refused
    );
    assert_eq!(
        l.arrive(SimTime::ZERO, r(1), Some(2), |_| true),
        Arrival::Queued,
        "a client's connection blocks instead"
    );
    assert_eq!(l.backlog(), 3);
    l.wait(t(5));
    assert_eq!(
        l.arrive(SimTime::ZERO, from_source(3), Some(2), |_| true),
        Arrival::Taken(t(5)),
        "an idle server takes it whatever the backlog"
    );
    assert_eq!(l.accept(SimTime::ZERO), Some(from_source(0)));
}
