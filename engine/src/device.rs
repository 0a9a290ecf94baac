//! A device with a concurrency limit: it serves that many blocking calls at
//! once and queues the rest FIFO (a disk with queue depth 1 serialises
//! requests; a network link without a limit does not).
//!
//! **The door.** The kernel (`kernel/io.rs`) submits a call with its latency
//! and learns whether it starts now; when a call finishes, the device names
//! the queued call that starts next.

use crate::config::DeviceConfig;
use crate::ids::ThreadId;
use crate::time::SimDuration;
use std::collections::VecDeque;

#[cfg(test)]
mod tests;

/// Runtime state of a device.
pub(crate) struct Device {
    limit: Option<u32>,
    busy: u32,
    queue: VecDeque<(ThreadId, SimDuration)>,
}

impl Device {
    pub fn new(c: &DeviceConfig) -> Self {
        Device {
            limit: c.concurrency,
            busy: 0,
            queue: VecDeque::new(),
        }
    }

    /// True if a call submitted now would start at once.
    pub fn has_room(&self) -> bool {
        self.limit.is_none_or(|l| self.busy < l)
    }

    /// `t` issues a call taking `latency` once served: true if it starts now,
    /// false if it waits behind the calls in service.
    pub fn submit(&mut self, t: ThreadId, latency: SimDuration) -> bool {
        if self.has_room() {
            self.busy += 1;
            true
        } else {
            self.queue.push_back((t, latency));
            false
        }
    }

    /// A call in service finished: the queued call that starts now, if any.
    pub fn finished(&mut self) -> Option<(ThreadId, SimDuration)> {
        self.busy -= 1;
        let next = self.queue.pop_front()?;
        self.busy += 1;
        Some(next)
    }
}
