// A recursion 30 deep over a spinning leaf, built without frame pointers.
use std::time::{Duration, Instant};

#[inline(never)]
fn spin(end: Instant) -> u64 {
    let mut x = 0u64;
    // The clock now and then: its time in the vDSO is not this test's.
    while Instant::now() < end {
        for _ in 0..100_000 {
            x = unsafe { std::ptr::read_volatile(&x) }.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
    }
    x
}

#[inline(never)]
fn descend(n: u32, end: Instant) -> u64 {
    if n == 0 {
        return spin(end);
    }
    let below = descend(n - 1, end);
    // Not a tail call: the frame stays on the stack.
    unsafe { std::ptr::read_volatile(&below) }.wrapping_add(1)
}

fn main() {
    println!("{}", std::process::id());
    let secs: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(30);
    let stop = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < stop {
        let v = descend(30, Instant::now() + Duration::from_millis(50));
        unsafe { std::ptr::read_volatile(&v) };
    }
}
