//! A device through its door alone.

use super::*;

fn device(concurrency: Option<u32>) -> Device {
    Device::new(&DeviceConfig {
        name: "disk".into(),
        concurrency,
    })
}

#[test]
fn a_device_serves_up_to_its_limit_and_queues_the_rest_in_order() {
    let mut d = device(Some(2));
    let ms = SimDuration::ms;
    assert!(d.submit(ThreadId(1), ms(1)));
    assert!(d.submit(ThreadId(2), ms(2)));
    assert!(!d.has_room());
    assert!(!d.submit(ThreadId(3), ms(3)), "third call waits");
    assert!(!d.submit(ThreadId(4), ms(4)));
    assert_eq!(
        d.finished(),
        Some((ThreadId(3), ms(3))),
        "FIFO, with its own latency"
    );
    assert_eq!(d.finished(), Some((ThreadId(4), ms(4))));
    assert_eq!(d.finished(), None);
    assert_eq!(d.finished(), None);
    assert!(d.has_room());
}

#[test]
fn a_device_without_a_limit_never_queues() {
    let mut d = device(None);
    for i in 0..1000 {
        assert!(d.submit(ThreadId(i), SimDuration::ZERO));
    }
    assert!(d.has_room());
}
