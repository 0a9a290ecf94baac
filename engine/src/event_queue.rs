//! The future event list: a binary heap ordered by `(time, sequence)`.
//!
//! Events scheduled for the same instant pop in the order they were scheduled
//! (FIFO), which makes runs reproducible. Cancellation is lazy: the owner of a
//! cancellable event bumps a generation counter and the stale event is skipped
//! when it is popped, never searched for.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Time in the high 64 bits, insertion sequence in the low 64 bits: one
/// integer comparison orders by `(time, sequence)`.
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn time(&self) -> SimTime {
        SimTime((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}

/// A priority queue of events keyed by `(time, insertion order)`.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(64),
            next_seq: 0,
        }
    }
    /// Schedules `event` at `time`. *O*(log *N*).
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            key: (u128::from(time.0) << 64) | u128::from(seq),
            event,
        });
    }
    /// Removes and returns the earliest event (FIFO among equal times). *O*(log *N*).
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|e| (e.time(), e.event))
    }
    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.time())
    }
    /// Drops every pending event for which `live` is false, keeping the order
    /// of the rest. *O*(*N*); the kernel calls it rarely, to bound memory.
    pub fn retain(&mut self, mut live: impl FnMut(&E) -> bool) {
        self.heap.retain(|e| live(&e.event));
    }
    /// Number of pending events (including stale ones not yet skipped).
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'b');
        q.push(SimTime(2), 'a');
        q.push(SimTime(5), 'c');
        q.push(SimTime(5), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn pops_in_time_then_insertion_order_after_retain() {
        let mut q = EventQueue::new();
        let mut x: u64 = 12345;
        let mut pushed = Vec::new();
        for i in 0..2000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let t = (x >> 33) % 100;
            q.push(SimTime(t), i);
            pushed.push((t, i));
        }
        q.retain(|i| i % 3 != 0);
        pushed.retain(|(_, i)| i % 3 != 0);
        pushed.sort();
        let popped: Vec<(u64, u64)> =
            std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        assert_eq!(popped, pushed);
    }
}
