//! How many sign-ins per second the Argon2id cost allows: password verifications per second on
//! 1 and 2 threads (the server runs them on the blocking pool, one per sign-in).
//!
//!     cargo bench --bench login -- --seconds 5
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use hailong::domain::account::{hash_password, verify_password};

fn main() {
    let seconds: u64 =
        std::env::args().skip_while(|a| a != "--seconds").nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let hash = hash_password("một mật khẩu đủ dài 2026").unwrap();
    println!("Argon2id parameters: {}", hash.split('$').nth(3).unwrap_or("?"));
    println!();
    println!("| threads | verifications/s | ms per verification |");
    println!("|---|---|---|");
    for threads in [1usize, 2] {
        let end = Instant::now() + Duration::from_secs(seconds);
        let counts: Vec<u64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    let hash = hash.clone();
                    scope.spawn(move || {
                        let mut n = 0u64;
                        while Instant::now() < end {
                            assert!(verify_password("một mật khẩu đủ dài 2026", &hash));
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let total: u64 = counts.iter().sum();
        let rate = total as f64 / seconds as f64;
        println!("| {threads} | {rate:.1} | {:.1} |", 1000.0 * threads as f64 / rate);
    }
}
